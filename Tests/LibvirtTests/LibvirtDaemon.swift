import Foundation
import Libvirt
import Testing
import TestSupport

/// The real libvirtd these tests run against. There is no systemd on our hosts, so if
/// `qemu:///system` does not answer, the daemons are started here (`virtlogd -d; libvirtd -d`).
/// If that fails too, tests that need the daemon are cancelled (reported as skipped) with the
/// reason, never passed.
enum LibvirtDaemon {
    static let uri = Connection.defaultURI

    /// nil when the daemon answers, else why not (TestSupport starts the daemons if needed).
    static var unavailableReason: String? { Libvirtd.unavailableReason }

    /// A connection to the running daemon, or the test is cancelled (skipped) with the reason.
    static func connect() throws -> Connection {
        if let reason = unavailableReason {
            try Test.cancel(Comment(rawValue: "skipped: \(reason)"))
        }
        return try Connection(uri: uri)
    }
}
