import Foundation
import Testing
import TestSupport

/// The whole rescue path with the real client: a fixture "server" disk captured, the chunk service
/// on loopback, a boot image with the unattended settings baked in, a blank machine booted from it
/// under qemu (TCG, user networking: the guest reaches the host's 127.0.0.1 as 10.0.2.2).
/// Afterwards the machine's disk equals the point and boots to the fixture's marker.
@Suite("Rescue end to end: bare-metal restores from the ISO and over PXE", .serialized,
       .enabled(if: RescueBoot.available && Fixtures.available, "needs qemu, xorriso, a kernel in /boot and the fixture tools"))
struct RescueEndToEndTests {
    /// A captured fixture disk, the server, and a boot image aimed at it.
    struct Setup {
        let h = RescueHarness()
        let disk: String
        let iso: String
        let pxe: String
        let point: Int64

        init(marker: String) throws {
            disk = h.dir.file("server.img")
            try Fixtures.bootDisk(at: disk, marker: marker, sizeMiB: 64)
            point = try h.cli.capture("web1", disk)
            try h.makeToken()
            try h.startServer()
            let port = try #require(h.url.split(separator: ":").last.map(String.init))
            iso = h.dir.file("rescue.iso")
            pxe = h.dir.file("pxe")
            let r = try h.cli.run(["bootimage", "--iso", iso, "--pxe", pxe, "--server", "http://10.0.2.2:\(port)",
                                   "--token", h.token, "--machine", "web1", "--target", "/dev/vda", "--done", "poweroff"],
                                  withStore: false)
            try #require(r.status == 0, "bootimage: \(r.output)")
        }

        /// A bare machine's disk: blank and larger than the server's.
        func blankDisk() -> String {
            let path = h.dir.file("bare-\(UUID().uuidString.prefix(6)).img")
            shell("truncate -s 80M '\(path)'")
            return path
        }

        /// The restored disk equals the point, and boots to the marker.
        func expectRestored(_ target: String, marker: String, _ boot: RescueBoot.Boot) throws {
            #expect(boot.result == "UNDERSTUDY-RESCUE: OK", "\(boot.log.suffix(3000))")
            #expect(boot.log.contains("restored web1 point \(point)"), "the client's summary is on the serial console")
            let size = try #require(try FileManager.default.attributesOfItem(atPath: disk)[.size] as? Int)
            let same = shell("cmp -n \(size) '\(target)' '\(disk)'")
            #expect(same.status == 0, "restored disk differs: \(same.output)")
            // boot-test.sh prints the marker the booted guest found on its data partition.
            let found = try Fixtures.boot(target, format: "raw")
            #expect(found == marker, "the restored disk booted to '\(found)', expected its marker '\(marker)'")
        }
    }

    @Test("boot the ISO on a blank machine: the disk is restored bit-exact and boots")
    func iso() throws {
        let s = try Setup(marker: "rescued-by-iso")
        let target = s.blankDisk()
        let boot = try RescueBoot.boot(["-cdrom", s.iso, "-drive", "file=\(target),format=raw,if=virtio", "-nic", "user,model=virtio-net-pci"],
                                       in: s.h.dir)
        try s.expectRestored(target, marker: "rescued-by-iso", boot)
        print("ISO rescue of a 64 MiB disk: \(String(format: "%.1f", boot.seconds)) s from power-on to power-off")
    }

    @Test("boot over PXE (qemu's TFTP): the disk is restored bit-exact and boots")
    func pxe() throws {
        let s = try Setup(marker: "rescued-by-pxe")
        let target = s.blankDisk()
        let boot = try RescueBoot.boot(["-boot", "n", "-drive", "file=\(target),format=raw,if=virtio",
                                        "-nic", "user,model=virtio-net-pci,tftp=\(s.pxe),bootfile=pxelinux.0"], in: s.h.dir)
        try s.expectRestored(target, marker: "rescued-by-pxe", boot)
        print("PXE rescue of a 64 MiB disk: \(String(format: "%.1f", boot.seconds)) s from power-on to power-off")
    }
}
