import BlockStore
import Capture
import DiskImage
import Foundation
import Testing
import TestSupport

@Suite("qcow2 overlays: boot without touching the base image")
struct OverlayTests {
    @Test(arguments: FormatCase.all.filter { !$0.compress })
    func overlayReadsAsItsBaseAndTakesAllWrites(_ c: FormatCase) throws {
        let dir = TempDir("overlay")
        let store = try Store(path: dir.file("store"), create: true)
        let disk = dir.file("disk.img")
        try Disks.make(disk, size: 20 << 20 + 4096, seed: 501)
        let point = try Capturer.capture(store: store, machine: "m", source: SourceDisk(disk))
        let base = dir.file("base.\(c.format)")
        _ = try ImageBuilder.build(store: store, point: point, to: base, options: c.options())
        let baseBefore = try ImageRecord.fingerprint(of: base)
        let overlay = dir.file("overlay.qcow2")
        try QCOW2Format.createOverlay(at: overlay, backing: base, backingFormat: QemuImg.driver(c.format), size: point.diskSize)

        let info = QemuImg.info(overlay, format: "qcow2")
        #expect(info["backing-filename"] as? String == base)
        #expect(info["backing-filename-format"] as? String == QemuImg.driver(c.format))
        #expect(QemuImg.check(overlay, format: "qcow2").status == 0)
        let same = shell("qemu-img compare -f qcow2 -F raw '\(overlay)' '\(disk)'")
        #expect(same.status == 0, "\(same.output)")
        // A guest's writes land in the overlay only.
        let write = shell("qemu-io -f qcow2 -c 'write -P 0x5a 1M 64k' '\(overlay)'")
        #expect(write.status == 0, "\(write.output)")
        #expect(shell("qemu-img compare -f qcow2 -F raw '\(overlay)' '\(disk)'").status == 1)
        #expect(try ImageRecord.fingerprint(of: base) == baseBefore)
        #expect(QemuImg.same(base, format: c.format, as: disk).0)
    }
}
