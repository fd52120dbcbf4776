import BlockStore
import Capture
import DiskImage
import Foundation
import Testing
import TestSupport

@Suite("qcow2: golden images, a second reader, our own check")
struct QCOW2Tests {
    /// libqcow (Debian libqcow-utils), a reader independent of QEMU, agrees on the media size.
    /// (Debian 12's libqcow 20201213 refuses the zstd compression-type feature bit even on
    /// qemu-img's own images, so compressed images have qemu-img as their only outside reader.)
    @Test(arguments: [false])
    func qcowinfoAgreesOnTheSize(_ compress: Bool) throws {
        let dir = TempDir("qcowinfo")
        let store = try Store(path: dir.file("store"), create: true)
        let disk = dir.file("disk.img")
        try Disks.make(disk, size: 21 << 20 + 3584, seed: 701)
        let point = try Capturer.capture(store: store, machine: "m", source: SourceDisk(disk))
        var options = ImageBuilder.Options()
        options.format = QCOW2Format.self
        options.compress = compress
        let image = dir.file("i.qcow2")
        _ = try ImageBuilder.build(store: store, point: point, to: image, options: options)
        let info = shell("qcowinfo '\(image)'")
        #expect(info.status == 0, "\(info.output)")
        #expect(info.output.contains("(\(point.diskSize) bytes)"), "\(info.output)")
    }

    /// Images qemu-img made are read by our probe, info and check.
    @Test(arguments: ["", "-c -o compression_type=zstd", "-o cluster_size=65536,lazy_refcounts=off"])
    func goldenImagesFromQemuImg(_ convertOptions: String) throws {
        let dir = TempDir("qgold")
        let disk = dir.file("disk.img")
        try Disks.make(disk, size: 9 << 20, seed: 702)
        let image = dir.file("golden.qcow2")
        let r = QemuImg.convert(disk, to: image, format: "qcow2", options: convertOptions)
        try #require(r.0 == 0, "\(r.1)")
        let file = try PlainImageFile(readingFrom: image)
        #expect(try FormatRegistry.probe(file)?.name == "qcow2")
        #expect(try QCOW2Format.info(file).virtualSize == 9 << 20)
        #expect(try QCOW2Format.check(file) == [])
    }

    /// A refcount made too low (the corruption qemu-img check reports) is found by our check.
    @Test func lowRefcountIsReported() throws {
        let dir = TempDir("qbad")
        let disk = dir.file("disk.img")
        try Disks.make(disk, size: 4 << 20, seed: 703)
        let image = dir.file("bad.qcow2")
        try #require(QemuImg.convert(disk, to: image, format: "qcow2").0 == 0)
        // The first refcount block: zero the refcount of cluster 0 (the header).
        let h = try FileHandle(forUpdating: URL(fileURLWithPath: image))
        try h.seek(toOffset: 48)
        let table = h.readData(ofLength: 8).reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        try h.seek(toOffset: table)
        let block = h.readData(ofLength: 8).reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        try h.seek(toOffset: block)
        h.write(Data([0, 0]))
        try h.close()
        let problems = try QCOW2Format.check(PlainImageFile(readingFrom: image))
        #expect(problems.contains { $0.contains("cluster 0") && $0.contains("corruption") }, "\(problems)")
        #expect(QemuImg.check(image, format: "qcow2").status == 2)
    }
}
