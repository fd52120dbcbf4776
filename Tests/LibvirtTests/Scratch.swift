import Foundation
import Libvirt
import TestSupport

/// Domains and networks the tests make: unique names, pure XML, and removal on every path.
enum Scratch {
    /// A unique name with a prefix only these tests use.
    static func name(_ label: String) -> String {
        "understudy-lvtest-\(label)-\(UUID().uuidString.prefix(8).lowercased())"
    }

    /// A TCG domain (64 MiB, no KVM), with VGA + VNC on localhost for screenshots, its serial
    /// console logged to `serialLog`, and optionally one raw virtio disk `vda`. With no bootable
    /// disk, SeaBIOS just sits there: enough for state, screenshots and disk backups.
    static func domainXML(name: String, serialLog: String, rawDisk: String? = nil) -> String {
        let disk = rawDisk.map {
            """
                <disk type='file' device='disk'>
                  <driver name='qemu' type='raw'/>
                  <source file='\($0)'/>
                  <target dev='vda' bus='virtio'/>
                </disk>

            """
        } ?? ""
        return """
            <domain type='qemu'>
              <name>\(name)</name>
              <memory unit='MiB'>64</memory>
              <vcpu>1</vcpu>
              <os><type arch='x86_64' machine='pc'>hvm</type><boot dev='hd'/></os>
              <on_reboot>destroy</on_reboot>
              <devices>
                <emulator>/usr/bin/qemu-system-x86_64</emulator>
            \(disk)    <serial type='file'><source path='\(serialLog)'/><target port='0'/></serial>
                <graphics type='vnc' autoport='yes' listen='127.0.0.1'/>
                <video><model type='vga'/></video>
                <memballoon model='none'/>
              </devices>
            </domain>
            """
    }

    /// An isolated network: no `<forward>`, no addresses, so it touches nothing on the host but a bridge.
    static func isolatedNetworkXML(name: String) -> String {
        "<network><name>\(name)</name></network>"
    }

    /// Defines `xml`, runs `body`, and destroys and undefines the domain whatever happens.
    static func withDomain<R>(_ connection: Connection, xml: String, _ body: (Domain) async throws -> R) async throws -> R {
        let domain = try connection.defineDomain(xml: xml)
        do {
            let result = try await body(domain)
            try domain.remove()
            return result
        } catch {
            try? domain.remove()
            throw error
        }
    }

    /// Runs `body`, then removes the network called `name` if it exists, whatever happens.
    static func cleaningNetwork<R>(_ connection: Connection, name: String, _ body: () throws -> R) throws -> R {
        defer { try? connection.network(named: name)?.remove() }
        return try body()
    }

    /// Polls `condition` every 50 ms for up to `seconds`.
    static func eventually(_ seconds: Double, _ condition: () throws -> Bool) rethrows -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        repeat {
            if try condition() { return true }
            Thread.sleep(forTimeInterval: 0.05)
        } while Date() < deadline
        return false
    }
}
