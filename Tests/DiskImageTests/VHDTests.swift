import BlockStore
@testable import DiskImage
import Foundation
import Testing
import TestSupport
import Core

/// Drives a format the way `ImageBuilder` and `ImageUpdater` do, from raw files instead of a
/// store, so tests can pick any block size and disk size.
enum Feed {
    /// Writes `raw` into a new `format` image at `path` in blocks of `blockSize`, skipping zero blocks.
    static func build(_ format: any DiskImageFormat.Type, variant: String, from raw: String, to path: String,
                      blockSize: Int, logicalSectorSize: Int = 512) throws {
        let size = try fileSize(raw)
        let blocks = try nonZeroBlocks(of: raw, blockSize: blockSize)
        try build(format, variant: variant, diskSize: size, blocks: blocks, to: path, blockSize: blockSize,
                  logicalSectorSize: logicalSectorSize)
    }

    static func build(_ format: any DiskImageFormat.Type, variant: String, diskSize: Int64, blocks: [(Int64, [UInt8])],
                      to path: String, blockSize: Int, logicalSectorSize: Int = 512) throws {
        unlink(path)
        let file = try PlainImageFile(FileDescriptor(path: path, flags: O_RDWR | O_CREAT | O_EXCL))
        var options = ImageOptions(blockSize: blockSize)
        options.variant = variant
        options.logicalSectorSize = logicalSectorSize
        let sink = try format.create(file, diskSize: diskSize, options: options)
        for (offset, data) in blocks { try data.withUnsafeBytes { try sink.write(offset: offset, data: $0, frame: nil) } }
        try sink.finish()
    }

    /// Updates the image at `path` (built from `old`) to `new` in place, under a journal, block by
    /// block as `ImageUpdater` does; returns the bytes written to the image.
    @discardableResult
    static func update(_ format: any DiskImageFormat.Type, image path: String, from old: String, to new: String,
                       blockSize: Int) throws -> (written: Int64, changedBlocks: Int) {
        let a = try Data(contentsOf: URL(fileURLWithPath: old)), b = try Data(contentsOf: URL(fileURLWithPath: new))
        let file = try JournaledFile(path: path, targetPoint: 2)
        let sink = try #require(try format.openForUpdate(file, options: ImageOptions(blockSize: blockSize)))
        var writes: [(Int64, [UInt8])] = []
        var changed = 0
        for start in stride(from: 0, to: b.count, by: blockSize) {
            let end = min(b.count, start + blockSize)
            let (same, zero) = a.withUnsafeBytes { x in
                b.withUnsafeBytes { y in
                    let n = UnsafeRawBufferPointer(rebasing: y[start..<end])
                    return (memcmp(x.baseAddress! + start, n.baseAddress!, end - start) == 0, isAllZero(n))
                }
            }
            guard !same else { continue }
            changed += 1
            if zero {
                try sink.zero(offset: Int64(start), length: Int64(end - start))  // the updater zeroes first
            } else {
                writes.append((Int64(start), [UInt8](b[start..<end])))
            }
        }
        for (offset, data) in writes { try data.withUnsafeBytes { try sink.write(offset: offset, data: $0, frame: nil) } }
        try sink.finish()
        try file.syncImage()
        try file.finishCommit()
        return (file.bytesWritten, changed)
    }

    static func nonZeroBlocks(of raw: String, blockSize: Int) throws -> [(Int64, [UInt8])] {
        let data = try Data(contentsOf: URL(fileURLWithPath: raw))
        return stride(from: 0, to: data.count, by: blockSize).compactMap { start in
            let end = min(data.count, start + blockSize)
            let zero = data.withUnsafeBytes { isAllZero(UnsafeRawBufferPointer(rebasing: $0[start..<end])) }
            return zero ? nil : (Int64(start), [UInt8](data[start..<end]))
        }
    }

    static func fileSize(_ path: String) throws -> Int64 {
        (try FileManager.default.attributesOfItem(atPath: path)[.size] as! NSNumber).int64Value
    }

    /// Writes `bytes` into `path` at `offset` (a test's way to change a disk or damage an image).
    static func poke(_ path: String, at offset: Int64, _ bytes: [UInt8]) throws {
        let handle = try FileHandle(forUpdating: URL(fileURLWithPath: path))
        defer { try? handle.close() }
        try handle.seek(toOffset: UInt64(offset))
        handle.write(Data(bytes))
    }

    static func peek(_ path: String, at offset: Int64, _ count: Int) throws -> [UInt8] {
        try PlainImageFile(readingFrom: path).read(count, at: offset)
    }

    /// `vhdiinfo`'s media size (libvhdi: a reader independent of QEMU).
    static func vhdiMediaSize(_ path: String) -> Int64? {
        let r = shell("vhdiinfo '\(path)' 2>&1")
        guard let line = r.output.split(separator: "\n").first(where: { $0.contains("Media size") }),
              let open = line.lastIndex(of: "("), let space = line[open...].firstIndex(of: " ") else { return nil }
        return Int64(line[line.index(after: open)..<space])
    }
}

@Suite("VHD: dynamic and fixed images")
struct VHDTests {
    static let oddSizes: [Int64] = [37 << 20 + 12_800, 100 << 20, (3 << 20) - 512, 7 * 512]

    @Test("a dynamic VHD shows qemu-img and libvhdi the exact disk size", arguments: oddSizes)
    func dynamicSizeIsExact(size: Int64) throws {
        let dir = TempDir("vhd")
        let raw = dir.file("disk.raw"), image = dir.file("disk.vhd")
        try Disks.make(raw, size: Int(size), seed: UInt64(size), regions: 12)
        try Feed.build(VHDFormat.self, variant: "dynamic", from: raw, to: image, blockSize: 65536)
        #expect(QemuImg.virtualSize(image, format: "vhd") == size)
        #expect(Feed.vhdiMediaSize(image) == size)
        #expect(QemuImg.same(image, format: "vhd", as: raw).0)
        let file = try PlainImageFile(readingFrom: image)
        #expect(try VHDFormat.check(file) == [])
        let info = try VHDFormat.info(file)
        #expect(info.virtualSize == size && info.variant == "dynamic")
        #expect(info.details["BAT entries"] == "\((size + (2 << 20) - 1) / (2 << 20))")
        #expect(info.details["creator"] == "win  10.0 (Wi2k)")
    }

    @Test("a fixed VHD is rounded up to a whole MiB that reads as zeros", arguments: oddSizes)
    func fixedSizeIsRoundedToMiB(size: Int64) throws {
        let dir = TempDir("vhd")
        let raw = dir.file("disk.raw"), image = dir.file("disk.vhd")
        try Disks.make(raw, size: Int(size), seed: UInt64(size) + 1, regions: 12)
        try Feed.build(VHDFormat.self, variant: "fixed", from: raw, to: image, blockSize: 65536)
        let rounded = (size + (1 << 20) - 1) / (1 << 20) * (1 << 20)
        #expect(try Feed.fileSize(image) == rounded + 512)
        #expect(QemuImg.virtualSize(image, format: "vhd") == rounded)
        #expect(Feed.vhdiMediaSize(image) == rounded)
        #expect(VHDFormat.virtualSize(diskSize: size, variant: "fixed") == rounded)
        #expect(QemuImg.same(image, format: "vhd", as: raw).0, "the padding must read as zeros")
        let file = try PlainImageFile(readingFrom: image)
        #expect(try VHDFormat.check(file) == [])
        #expect(try FormatRegistry.probe(file) == VHDFormat.self)
        let footer = try #require(VHDFooter(try Feed.peek(image, at: rounded, 512)))
        #expect(footer.currentSize == UInt64(rounded) && footer.originalSize == UInt64(rounded))
        #expect(footer.type == .fixed && footer.dataOffset == .max)
    }

    /// Store blocks smaller than, equal to and larger than the 2 MiB VHD block.
    @Test("any store block size", arguments: [65536, 2 << 20, 4 << 20, 3 << 20])
    func anyStoreBlockSize(blockSize: Int) throws {
        let dir = TempDir("vhd")
        let raw = dir.file("disk.raw")
        try Disks.make(raw, size: 23 << 20 + 4096, seed: 7, regions: 20)
        for variant in VHDFormat.variants {
            let image = dir.file("\(variant).vhd")
            try Feed.build(VHDFormat.self, variant: variant, from: raw, to: image, blockSize: blockSize)
            #expect(QemuImg.same(image, format: "vhd", as: raw).0, "\(variant) with \(blockSize)-byte blocks")
            #expect(try VHDFormat.check(PlainImageFile(readingFrom: image)) == [])
        }
    }

    @Test("blocks that are wholly zero stay unallocated")
    func zeroBlocksStayUnallocated() throws {
        let dir = TempDir("vhd")
        let image = dir.file("sparse.vhd")
        let size: Int64 = 20 << 20
        let data = [UInt8](repeating: 0x5A, count: 65536), zeros = [UInt8](repeating: 0, count: 65536)
        // Block 0 and block 5 hold data; a zero store block in block 7 must not allocate it.
        try Feed.build(VHDFormat.self, variant: "dynamic", diskSize: size,
                       blocks: [(0, data), (5 << 21 + 65536, data), (7 << 21, zeros)], to: image, blockSize: 65536)
        let info = try VHDFormat.info(PlainImageFile(readingFrom: image))
        #expect(info.details["allocated blocks"] == "2")
        #expect(try Feed.fileSize(image) == 1536 + 512 + 2 * (512 + 2 << 20) + 512)
        let map = shell("qemu-img map --output=json -f vpc '\(image)'").output
        #expect(map.contains("\"data\": true") && map.contains("\"zero\": true"))
    }

    /// The footer and header fields qemu-img writes for the same exact size (`force_size`), apart
    /// from the creator (`qem2` vs Hyper-V's `win `), timestamp, UUID and checksums.
    @Test("header fields agree with qemu-img's", arguments: [37 << 20 + 12_800, 100 << 20, 1 << 30 + 512 * 3, 200 << 30] as [Int64])
    func fieldsAgreeWithQemu(size: Int64) throws {
        let dir = TempDir("vhd")
        for variant in VHDFormat.variants {
            let ours = dir.file("ours.vhd"), theirs = dir.file("qemu.vhd")
            let exact = variant == "fixed" ? VHDFormat.fixedSize(size) : size
            try Feed.build(VHDFormat.self, variant: variant, diskSize: size, blocks: [], to: ours, blockSize: 65536)
            let r = shell("qemu-img create -q -f vpc -o subformat=\(variant),force_size=on '\(theirs)' \(exact) 2>&1")
            try #require(r.status == 0, "\(r.output)")
            let a = try #require(VHDFooter(try Feed.peek(ours, at: try Feed.fileSize(ours) - 512, 512)))
            let b = try #require(VHDFooter(try Feed.peek(theirs, at: try Feed.fileSize(theirs) - 512, 512)))
            #expect(a.features == b.features && a.version == b.version && a.dataOffset == b.dataOffset)
            #expect(a.originalSize == b.originalSize && a.currentSize == b.currentSize, "\(variant) \(size)")
            // (qemu-img's force_size writes the maximum CHS; `geometryMatchesQemu` compares CHS.)
            #expect(a.diskType == b.diskType && a.creatorOS == b.creatorOS)
            #expect(VHDFooter.expectedChecksum(of: a.encoded()) == a.checksum || a.checksum == 0)
            guard variant == "dynamic" else { continue }
            let h = try #require(VHDDynamicHeader(try Feed.peek(ours, at: 512, 1024)))
            let q = try #require(VHDDynamicHeader(try Feed.peek(theirs, at: 512, 1024)))
            #expect(h.tableOffset == q.tableOffset && h.blockSize == q.blockSize && h.version == q.version && h.dataOffset == q.dataOffset)
            #expect(h.maxTableEntries == q.maxTableEntries, "BAT entries: ours \(h.maxTableEntries), qemu \(q.maxTableEntries)")
            #expect(try Feed.peek(ours, at: 0, 512) == (try Feed.peek(ours, at: try Feed.fileSize(ours) - 512, 512)))
        }
    }

    /// Golden images from qemu-img (creator `qemu`, CHS-derived size) read correctly.
    @Test("reads qemu-img's images", arguments: VHDFormat.variants)
    func readsQemuImages(variant: String) throws {
        let dir = TempDir("vhd")
        let raw = dir.file("disk.raw"), image = dir.file("qemu.vhd")
        try Disks.make(raw, size: 30 << 20, seed: 31)
        let (status, output) = QemuImg.convert(raw, to: image, format: "vhd", options: "-o subformat=\(variant)")
        try #require(status == 0, "\(output)")
        let file = try PlainImageFile(readingFrom: image)
        #expect(try FormatRegistry.probe(file) == VHDFormat.self)
        #expect(try VHDFormat.check(file) == [])
        let info = try VHDFormat.info(file)
        #expect(info.variant == variant)
        #expect(info.details["creator"]?.hasPrefix("qemu") == true)
        // qemu-img shows the CHS size for its own creator; ours reports the footer's current size.
        let qemuSize = try #require(QemuImg.virtualSize(image, format: "vhd"))
        let footer = try #require(VHDFooter(try Feed.peek(image, at: try Feed.fileSize(image) - 512, 512)))
        #expect(qemuSize == footer.geometry.sectors * 512 && info.virtualSize == Int64(footer.currentSize))
        if variant == "dynamic" { #expect(info.details["block size"] == "2097152") }
    }

    @Test("refuses disks over 2040 GiB with a clear error")
    func refusesOver2040GiB() throws {
        let dir = TempDir("vhd")
        #expect(VHDFormat.maxDiskSize(variant: "dynamic") == 2040 << 30)
        #expect(VHDFormat.maxDiskSize(variant: "fixed") == 2040 << 30)
        for variant in VHDFormat.variants {
            let path = dir.file("\(variant).vhd")
            let error = #expect(throws: UnderstudyError.self) {
                try Feed.build(VHDFormat.self, variant: variant, diskSize: 2040 << 30 + 1 << 20, blocks: [], to: path, blockSize: 65536)
            }
            #expect(error?.code == .unsupported)
            #expect(error?.message.contains("2040 GiB") == true)
            #expect(try Feed.fileSize(path) == 0, "nothing written before refusing")
        }
        // The largest allowed dynamic disk is fine, and QEMU takes it.
        let largest = dir.file("largest.vhd")
        try Feed.build(VHDFormat.self, variant: "dynamic", diskSize: 2040 << 30, blocks: [], to: largest, blockSize: 65536)
        #expect(QemuImg.virtualSize(largest, format: "vhd") == 2040 << 30)
        #expect(try VHDFormat.check(PlainImageFile(readingFrom: largest)) == [])
    }

    @Test("a damaged footer or header checksum is reported")
    func corruptChecksumsAreReported() throws {
        let dir = TempDir("vhd")
        let raw = dir.file("disk.raw")
        try Disks.make(raw, size: 9 << 20, seed: 41)
        for variant in VHDFormat.variants {
            let image = dir.file("\(variant).vhd")
            try Feed.build(VHDFormat.self, variant: variant, from: raw, to: image, blockSize: 65536)
            let end = try Feed.fileSize(image) - 512
            let byte = try Feed.peek(image, at: end + 30, 1)[0]
            try Feed.poke(image, at: end + 30, [byte ^ 0x40])  // inside the creator version
            let problems = try VHDFormat.check(PlainImageFile(readingFrom: image))
            #expect(problems.contains { $0.contains("footer checksum") }, "\(variant): \(problems)")
            if variant == "fixed" {
                #expect(QemuImg.info(image, format: "vhd").isEmpty, "QEMU refuses a bad footer checksum too")
            } else {
                #expect(problems.contains { $0.contains("copy at offset 0 differs") })
                try Feed.poke(image, at: end + 30, [byte])
                try Feed.poke(image, at: 512 + 40, [0x01])  // parent UUID, covered by the checksum
                let header = try VHDFormat.check(PlainImageFile(readingFrom: image))
                #expect(header.contains { $0.contains("dynamic header checksum") }, "\(header)")
            }
        }
    }

    @Test("updates in place: new blocks at the end, zeroed ranges, the rest untouched", arguments: [65536, 4 << 20])
    func updatesInPlace(blockSize: Int) throws {
        let dir = TempDir("vhd")
        let a = dir.file("a.raw"), b = dir.file("b.raw")
        try Disks.make(a, size: 41 << 20 + 1024, seed: 51, regions: 6)
        try Disks.copy(a, b)
        try Feed.poke(b, at: 39 << 20, [UInt8](repeating: 0xC3, count: 70_000))     // a block that may be new
        try Disks.mutate(b, seed: 52, writes: 8)                                    // changes and zeroed ranges
        try Feed.poke(b, at: 0, [UInt8](repeating: 0, count: 2 << 20))              // block 0 now all zero
        for variant in VHDFormat.variants {
            let image = dir.file("\(variant).vhd"), fresh = dir.file("fresh-\(variant).vhd")
            try Feed.build(VHDFormat.self, variant: variant, from: a, to: image, blockSize: blockSize)
            let before = try Feed.fileSize(image)
            let written = try Feed.update(VHDFormat.self, image: image, from: a, to: b, blockSize: blockSize)
            try Feed.build(VHDFormat.self, variant: variant, from: b, to: fresh, blockSize: blockSize)
            #expect(QemuImg.same(image, format: "vhd", as: b).0, "\(variant): updated image differs from B")
            #expect(try VHDFormat.check(PlainImageFile(readingFrom: image)) == [])
            // Only what changed: the changed blocks, plus a few sectors of bitmap, BAT and footer.
            #expect(written.written <= Int64(written.changedBlocks * blockSize) + 16384, "\(variant): wrote \(written) of \(before)")
            let after = try Feed.fileSize(image)
            if variant == "fixed" {
                #expect(after == before)
            } else {
                #expect((after - before) % (512 + 2 << 20) == 0, "the file grows by whole blocks")
                #expect(try Feed.peek(image, at: 0, 512) == (try Feed.peek(image, at: after - 512, 512)), "the footer moved intact")
                #expect(QemuImg.virtualSize(image, format: "vhd") == (try Feed.fileSize(b)))
            }
        }
    }

    /// qemu-img without force_size rounds the size up to a CHS geometry and stores that size:
    /// the spec's algorithm run on that size must give the same geometry.
    @Test("geometry follows the spec's algorithm, as qemu-img's does",
          arguments: [30 << 20, 100 << 20, 127 << 20 + 512, 4 << 30, 31 << 30, 40 << 30, 130 << 30] as [Int64])
    func geometryMatchesQemu(size: Int64) throws {
        let dir = TempDir("vhd")
        let image = dir.file("q.vhd")
        let r = shell("qemu-img create -q -f vpc -o subformat=dynamic '\(image)' \(size) 2>&1")
        try #require(r.status == 0, "\(r.output)")
        let footer = try #require(VHDFooter(try Feed.peek(image, at: try Feed.fileSize(image) - 512, 512)))
        #expect(VHDFooter.Geometry(size: Int64(footer.currentSize)) == footer.geometry, "\(size): qemu \(footer.geometry)")
    }

    @Test("geometry: spec examples and the cap")
    func geometry() {
        #expect(VHDFooter.Geometry(size: 100 << 20).description == "1003/12/17")
        #expect(VHDFooter.Geometry(size: 3 << 40) == VHDFooter.Geometry(cylinders: 65535, heads: 16, sectorsPerTrack: 255), "capped")
        let small = VHDFooter.Geometry(size: 7 * 512)
        #expect(small.sectors <= 7 && small.heads == 4 && small.sectorsPerTrack == 17)
    }
}
