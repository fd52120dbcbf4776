import BlockStore
import Capture
import DiskImage
import Foundation
import Testing
import TestSupport

/// Every format and variant, checked by qemu-img against the raw restore of the same point.
struct FormatCase: CustomTestStringConvertible, Sendable {
    let format: String
    let variant: String
    let compress: Bool
    var ova = false
    var testDescription: String { "\(format) \(variant)\(compress ? " compressed" : "")\(ova ? " OVA" : "")" }

    static var all: [FormatCase] {
        FormatRegistry.all.flatMap { f in f.variants.map { FormatCase(format: f.name, variant: $0, compress: false) } }
            + (FormatRegistry.all.contains { $0.name == "qcow2" } ? [FormatCase(format: "qcow2", variant: "v3", compress: true)] : [])
    }

    func options() throws -> ImageBuilder.Options {
        var o = ImageBuilder.Options()
        o.format = try FormatRegistry.format(named: format)
        o.variant = variant
        o.compress = compress
        o.ova = ova
        o.force = true
        return o
    }
}

@Suite("Formats: qemu-img agrees with every image we write")
struct ConformanceTests {
    /// Odd sizes: not multiples of the block, cluster, grain or MiB.
    @Test(arguments: FormatCase.all)
    func imagesMatchTheRawRestoreAtSeveralPoints(_ c: FormatCase) throws {
        let dir = TempDir("fmt")
        let store = try Store(path: dir.file("store"), create: true)
        let disk = dir.file("disk.img")
        try Disks.make(disk, size: 37 << 20 + 12_800, seed: 201)  // whole sectors, as disks are
        var points: [RecoveryPoint] = []
        for round in 0..<3 {
            if round > 0 { try Disks.mutate(disk, seed: 202 + UInt64(round), writes: 15) }
            points.append(try Capturer.capture(store: store, machine: "m", source: SourceDisk(disk)))
        }
        for point in points {
            let raw = dir.file("p\(point.id!).raw")
            var rawOptions = ImageBuilder.Options()
            rawOptions.force = true
            _ = try ImageBuilder.build(store: store, point: point, to: raw, options: rawOptions)
            let image = dir.file("p\(point.id!).\(c.format)")
            _ = try ImageBuilder.build(store: store, point: point, to: image, options: c.options())
            let (same, why) = QemuImg.same(image, format: c.format, as: raw)
            #expect(same, "\(c) point \(point.id!): qemu-img compare: \(why)")
            let check = QemuImg.check(image, format: c.format)
            #expect(check.status == 0 || check.status == 63, "\(c): qemu-img check: \(check.output)")
            let size = try FormatRegistry.format(named: c.format).virtualSize(diskSize: point.diskSize, variant: c.variant)
            #expect(QemuImg.virtualSize(image, format: c.format) == size, "\(c): wrong virtual size")
            let file = try PlainImageFile(readingFrom: image)
            #expect(try FormatRegistry.probe(file)?.name == c.format)
            #expect(try FormatRegistry.format(named: c.format).check(file).isEmpty)
            #expect(try FormatRegistry.format(named: c.format).info(file).virtualSize == size)
        }
    }

    /// An image built at A and updated to B reads exactly like a fresh build at B, and the update
    /// wrote a small fraction of what a full build wrote.
    @Test(arguments: FormatCase.all)
    func updateEqualsFullBuildAndCostsWhatChanged(_ c: FormatCase) throws {
        let dir = TempDir("upd")
        let store = try Store(path: dir.file("store"), create: true)
        let disk = dir.file("disk.img")
        try Disks.make(disk, size: 64 << 20 + 512, seed: 211, regions: 120)
        let a = try Capturer.capture(store: store, machine: "m", source: SourceDisk(disk))
        try Disks.mutate(disk, seed: 212, writes: 6)
        let b = try Capturer.capture(store: store, machine: "m", source: SourceDisk(disk))
        let image = dir.file("standby.\(c.format)")
        let full = try ImageBuilder.build(store: store, point: a, to: image, options: c.options())
        let update = try ImageUpdater.update(store: store, point: b, at: image, options: c.options())
        let fresh = dir.file("fresh.\(c.format)")
        _ = try ImageBuilder.build(store: store, point: b, to: fresh, options: c.options())
        let r = shell("qemu-img compare -f \(QemuImg.driver(c.format)) -F \(QemuImg.driver(c.format)) '\(image)' '\(fresh)' 2>&1")
        #expect(r.status == 0, "\(c): updated image differs from a fresh build: \(r.output)")
        #expect(QemuImg.check(image, format: c.format).status != 2)
        if update.mode == .update {
            #expect(update.bytesWritten * 10 < full.bytesWritten, "\(c): update wrote \(update.bytesWritten) of a full \(full.bytesWritten)")
            #expect(update.changedBlocks > 0 && update.changedBlocks < 40)
        } else {
            #expect(update.note != nil, "\(c): rebuilt without saying why")
        }
        #expect(ImageRecord.load(for: image)?.point == b.id)
    }
}
