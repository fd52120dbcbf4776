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

    /// nil when the daemon answers, else why not. Evaluated once per test process.
    static let unavailableReason: String? = ensureRunning()

    /// Starts virtlogd and libvirtd if `virsh -c qemu:///system version` fails, then waits up to
    /// 15 s for the daemon to answer.
    static func ensureRunning() -> String? {
        if answers() { return nil }
        guard getuid() == 0 else { return "libvirtd is not running at \(uri) and starting it needs root" }
        guard shell("command -v libvirtd && command -v virtlogd").status == 0 else {
            return "libvirtd/virtlogd are not installed (scripts/install-deps.sh installs libvirt-daemon-system)"
        }
        var log = ""
        if shell("pgrep -x virtlogd").status != 0 { log += shell("virtlogd -d 2>&1").output }
        if shell("pgrep -x libvirtd").status != 0 { log += shell("libvirtd -d 2>&1").output }
        let deadline = Date().addingTimeInterval(15)
        while Date() < deadline {
            if answers() { return nil }
            Thread.sleep(forTimeInterval: 0.25)
        }
        return "libvirtd did not answer at \(uri) after `virtlogd -d; libvirtd -d`: \(log)"
    }

    private static func answers() -> Bool {
        shell("virsh -c '\(uri)' version >/dev/null 2>&1").status == 0
    }

    /// A connection to the running daemon, or the test is cancelled (skipped) with the reason.
    static func connect() throws -> Connection {
        if let reason = unavailableReason {
            try Test.cancel(Comment(rawValue: "skipped: \(reason)"))
        }
        return try Connection(uri: uri)
    }
}
