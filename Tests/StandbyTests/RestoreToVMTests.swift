import Foundation
import Testing
import TestSupport

/// P2V: `restore MACHINE --to-vm NAME` makes a new, bootable libvirt VM from a point.
@Suite("Standby: restore into a new VM (P2V)", .serialized,
       .enabled(if: Fixtures.available && Libvirtd.available, "needs qemu, the fixture tools and a running libvirtd"))
struct RestoreToVMTests {
    @Test("the new VM boots the point's disk; an existing name or image is refused and nothing is left behind")
    func restoreToVM() throws {
        let h = try StandbyHarness("p2v", marker: "p2v-marker", stay: true)
        let name = "us-p2v-\(UUID().uuidString.prefix(6).lowercased())"
        defer { Libvirtd.remove(name) }
        let image = h.dir.file("vm/\(name).qcow2")
        try FileManager.default.createDirectory(atPath: h.dir.file("vm"), withIntermediateDirectories: true)
        let r = try h.cli.run(["restore", h.machine, "--to-vm", name, "--vm-image", image, "--start", "--json"])
        try #require(r.status == 0, "\(r.output)")
        let report = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        let serial = try #require(report["serialLog"] as? String)
        let compare = shell("qemu-img compare -U -f qcow2 -F raw '\(image)' '\(h.disk)'")
        #expect(compare.status == 0, "the VM's disk is the point: \(compare.output)")
        let deadline = Date().addingTimeInterval(90)
        var console = ""
        while Date() < deadline {
            console = (try? String(contentsOfFile: serial, encoding: .utf8)) ?? ""
            if console.contains("login:") { break }
            Thread.sleep(forTimeInterval: 0.5)
        }
        #expect(console.contains("UNDERSTUDY-MARKER: p2v-marker"), "console: \(console.suffix(400))")
        let xml = shell("virsh -c qemu:///system dumpxml \(name)").output
        #expect(xml.contains(image) && xml.contains(h.machine))
        // The same name again: refused, and the existing VM and its disk are untouched.
        let again = try h.cli.run(["restore", h.machine, "--to-vm", name, "--vm-image", h.dir.file("vm/other.qcow2")])
        #expect(again.status == 1 && again.stderr.contains("already exists"), "\(again.output)")
        #expect(!FileManager.default.fileExists(atPath: h.dir.file("vm/other.qcow2")))
        // An existing image path: refused before anything is defined.
        let other = "us-p2v-\(UUID().uuidString.prefix(6).lowercased())"
        defer { Libvirtd.remove(other) }
        let taken = try h.cli.run(["restore", h.machine, "--to-vm", other, "--vm-image", image])
        #expect(taken.status == 1 && taken.stderr.contains("not overwritten"), "\(taken.output)")
        #expect(shell("virsh -c qemu:///system dominfo \(other)").status != 0)
        // Argument misuse.
        #expect(try h.cli.run(["restore", h.machine]).status == 2)
        #expect(try h.cli.run(["restore", h.machine, h.dir.file("x.img"), "--to-vm", "x"]).status == 2)
    }
}
