public import BlockStore
import Foundation
import Core

/// Where a machine's standby lives: `STORE/standby/MACHINE/` holds the base image
/// (`MACHINE.FORMAT`, with its Understudy record), the overlay the domain boots
/// (`overlay.qcow2`), the serial console log, UEFI variables, and verify runs' leftovers.
/// Every folder is 0755: qemu runs as libvirt-qemu and must traverse them.
public struct StandbyPaths: Sendable {
    public let folder: String
    public let machine: String

    public init(store: Store, machine: String) throws {
        self.machine = machine
        folder = store.layout.standby(machine: machine)
        screenshots = store.layout.screenshots(machine: machine)
        for dir in [store.path, store.layout.standby, folder] {
            try FileSystem.makeDirectory(dir, mode: 0o755)
            chmod(dir, 0o755)
        }
    }

    public func image(format: String) -> String { folder + "/\(machine).\(format)" }
    public var overlay: String { folder + "/overlay.qcow2" }
    public var serialLog: String { folder + "/serial.log" }
    public var nvram: String { folder + "/nvram.fd" }
    public let screenshots: String
}
