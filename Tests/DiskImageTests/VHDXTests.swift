import BlockStore
@testable import DiskImage
import Foundation
import Testing
import TestSupport
import Core

@Suite("VHDX: dynamic images")
struct VHDXTests {
    static let oddSizes: [Int64] = [37 << 20 + 12_800, 100 << 20, (3 << 20) - 512, 7 * 512]

    @Test("qemu-img and libvhdi see the exact size and the same bytes; qemu-img check is clean", arguments: oddSizes)
    func exactSize(size: Int64) throws {
        let dir = TempDir("vhdx")
        let raw = dir.file("disk.raw"), image = dir.file("disk.vhdx")
        try Disks.make(raw, size: Int(size), seed: UInt64(size) + 3, regions: 12)
        try Feed.build(VHDXFormat.self, variant: "dynamic", from: raw, to: image, blockSize: 65536)
        #expect(QemuImg.virtualSize(image, format: "vhdx") == size)
        #expect(Feed.vhdiMediaSize(image) == size)
        #expect(QemuImg.same(image, format: "vhdx", as: raw).0)
        let check = QemuImg.check(image, format: "vhdx")
        #expect(check.status == 0, "\(check.output)")
        #expect(try Feed.fileSize(image) % (1 << 20) == 0)
        let file = try PlainImageFile(readingFrom: image)
        #expect(try FormatRegistry.probe(file) == VHDXFormat.self)
        #expect(try VHDXFormat.check(file) == [])
        let info = try VHDXFormat.info(file)
        #expect(info.virtualSize == size)
        #expect(info.details["block size"] == "\(1 << 20)" && info.details["logical sector size"] == "512")
        #expect(info.details["physical sector size"] == "4096" && info.details["creator"] == "Understudy")
    }

    @Test("any store block size, smaller or larger than the VHDX block", arguments: [65536, 1 << 20, 4 << 20, 3 << 20])
    func anyStoreBlockSize(blockSize: Int) throws {
        let dir = TempDir("vhdx")
        let raw = dir.file("disk.raw"), image = dir.file("disk.vhdx")
        try Disks.make(raw, size: 23 << 20 + 4096, seed: 9, regions: 20)
        try Feed.build(VHDXFormat.self, variant: "dynamic", from: raw, to: image, blockSize: blockSize)
        #expect(QemuImg.same(image, format: "vhdx", as: raw).0)
        #expect(QemuImg.check(image, format: "vhdx").status == 0)
        #expect(try VHDXFormat.check(PlainImageFile(readingFrom: image)) == [])
    }

    @Test("the guest's 4096-byte logical sectors are recorded")
    func logicalSectorSize4096() throws {
        let dir = TempDir("vhdx")
        let raw = dir.file("disk.raw"), image = dir.file("disk.vhdx")
        try Disks.make(raw, size: 16 << 20, seed: 13)
        try Feed.build(VHDXFormat.self, variant: "dynamic", from: raw, to: image, blockSize: 65536, logicalSectorSize: 4096)
        #expect(shell("vhdiinfo '\(image)'").output.contains("Bytes per sector\t: 4096"))
        #expect(try VHDXFormat.info(PlainImageFile(readingFrom: image)).details["chunk ratio"] == "\(32768)")
        // (QEMU 7.2 opens only 512-byte-sector VHDX, so libvhdi is the reader here.)
        // A size that is not whole 4 KiB sectors is refused, not silently rounded.
        let error = #expect(throws: UnderstudyError.self) {
            try Feed.build(VHDXFormat.self, variant: "dynamic", diskSize: 16 << 20 + 512, blocks: [], to: dir.file("odd.vhdx"),
                           blockSize: 65536, logicalSectorSize: 4096)
        }
        #expect(error?.code == .unsupported)
    }

    /// A disk large enough for sector bitmap entries in the BAT (one after every 4096 payload
    /// entries), with data on both sides of them; and past 2 TiB, where blocks grow to 2 MiB.
    @Test("large sparse disks: interleaved bitmap entries and the block size rule", arguments: [100 << 30, 3 << 40] as [Int64])
    func largeSparseDisks(size: Int64) throws {
        let dir = TempDir("vhdx")
        let image = dir.file("big.vhdx")
        let pattern = [UInt8](repeating: 0x5A, count: 65536)
        let offsets: [Int64] = [0, 4096 << 20, (4096 << 20) + 65536 * 3, 8200 << 20, size - 65536]
        try Feed.build(VHDXFormat.self, variant: "dynamic", diskSize: size, blocks: offsets.map { ($0, pattern) }, to: image, blockSize: 65536)
        #expect(QemuImg.virtualSize(image, format: "vhdx") == size)
        #expect(QemuImg.check(image, format: "vhdx").status == 0)
        #expect(Feed.vhdiMediaSize(image) == size)
        let info = try VHDXFormat.info(PlainImageFile(readingFrom: image))
        #expect(info.details["block size"] == "\(VHDXSpec.blockSize(forDiskSize: size))")
        #expect(try VHDXFormat.check(PlainImageFile(readingFrom: image)) == [])
        for offset in offsets {
            let zeroAfter = offset + 65536 < size ? "-c 'read -P 0 \(offset + 65536) 512'" : ""
            let r = shell("qemu-io -f vhdx -r -c 'read -P 0x5a \(offset) 65536' \(zeroAfter) '\(image)' 2>&1")
            #expect(r.status == 0 && !r.output.contains("failed"), "at \(offset): \(r.output)")
        }
    }

    @Test("block size: 1 MiB up to 2 TiB, doubling beyond; chunk ratio and BAT shape")
    func layoutRules() {
        #expect(VHDXSpec.blockSize(forDiskSize: 37 << 20) == 1 << 20)
        #expect(VHDXSpec.blockSize(forDiskSize: 2 << 40) == 1 << 20)
        #expect(VHDXSpec.blockSize(forDiskSize: (2 << 40) + 512) == 2 << 20)
        #expect(VHDXSpec.blockSize(forDiskSize: 64 << 40) == 32 << 20)
        let layout = VHDXLayout(virtualSize: 100 << 30, blockSize: 1 << 20, logicalSectorSize: 512)
        #expect(layout.chunkRatio == 4096)
        #expect(layout.batEntries == 102_400 + 24)
        #expect(layout.batIndex(ofBlock: 4095) == 4095 && layout.batIndex(ofBlock: 4096) == 4097)
        #expect(layout.isBitmapEntry(4096) && !layout.isBitmapEntry(4095) && !layout.isBitmapEntry(4097))
        #expect(VHDXLayout(virtualSize: 1 << 40, blockSize: 32 << 20, logicalSectorSize: 512).chunkRatio == 128)
    }

    @Test("CRC-32C and mixed-endian GUIDs")
    func checksumsAndGUIDs() {
        #expect(CRC32C.checksum(Array("123456789".utf8)) == 0xE306_9283)
        let bat = VHDXGUID("2DC27766-F623-4200-9D64-115E9BFD4A08")
        #expect(bat.bytes == [0x66, 0x77, 0xC2, 0x2D, 0x23, 0xF6, 0x00, 0x42, 0x9D, 0x64, 0x11, 0x5E, 0x9B, 0xFD, 0x4A, 0x08])
        #expect(bat.description == "2DC27766-F623-4200-9D64-115E9BFD4A08")
        #expect(VHDXGUID.random() != VHDXGUID.random())
    }

    /// The fields we write where qemu-img writes the same: headers, region entries, metadata
    /// items and their flags. (Placement differs: QEMU puts the BAT before the metadata.)
    @Test("header and metadata fields agree with qemu-img's")
    func fieldsAgreeWithQemu() throws {
        let dir = TempDir("vhdx")
        let ours = dir.file("ours.vhdx"), theirs = dir.file("qemu.vhdx")
        let size: Int64 = 37 << 20 + 12_800
        try Feed.build(VHDXFormat.self, variant: "dynamic", diskSize: size, blocks: [], to: ours, blockSize: 65536)
        let r = shell("qemu-img create -q -f vhdx -o block_size=1M,log_size=1M '\(theirs)' \(size) 2>&1")
        try #require(r.status == 0, "\(r.output)")
        let a = try VHDXImage.read(PlainImageFile(readingFrom: ours)), b = try VHDXImage.read(PlainImageFile(readingFrom: theirs))
        #expect(a.header.version == b.header.version && a.header.logVersion == b.header.logVersion)
        #expect(a.header.logGuid == b.header.logGuid && a.header.logLength == b.header.logLength && a.header.logOffset == b.header.logOffset)
        // Both regions required, as Hyper-V writes them (qemu-img 7.2 leaves the bit clear).
        #expect(a.regions.entries.map(\.required) == [true, true])
        #expect(Set(a.regions.entries.map(\.guid)) == Set(b.regions.entries.map(\.guid)))
        #expect(a.batRegion.length == b.batRegion.length && a.metadataRegion.length == b.metadataRegion.length)
        var m = b.metadata
        m.page83 = a.metadata.page83
        m.physicalSectorSize = 4096  // qemu-img says 512; we say 4096, as Hyper-V does for new disks
        #expect(a.metadata == m, "ours \(a.metadata), qemu \(b.metadata)")
        #expect(a.layout == b.layout && a.bat.count == b.bat.count)
        #expect(a.bat == b.bat, "both mark every block PAYLOAD_BLOCK_ZERO")
        for slot in 0..<2 {
            let table = { (path: String) in try Feed.peek(path, at: (slot == 0 ? 3 : 2) << 20, 32 + 5 * 32) }
            // Item flags: file parameters required; the others required and virtual-disk.
            let flags = { (bytes: [UInt8]) in (0..<5).map { VHDFields(bytes, bigEndian: false).get(UInt32.self, 32 + 32 * $0 + 24) } }
            if slot == 0 { #expect(flags(try table(theirs)) == [4, 6, 6, 6, 6]) } else { #expect(flags(try table(ours)) == [4, 6, 6, 6, 6]) }
        }
        // Two valid headers, sequence numbers n and n+1.
        let seqs = try VHDXSpec.headerOffsets.map { try #require(VHDXHeader(try Feed.peek(ours, at: $0, 4096))).sequenceNumber }
        #expect(seqs[1] == seqs[0] + 1)
    }

    /// Golden images from qemu-img (8 MiB blocks by default, BAT before metadata) read correctly.
    @Test("reads qemu-img's images")
    func readsQemuImages() throws {
        let dir = TempDir("vhdx")
        let raw = dir.file("disk.raw"), image = dir.file("qemu.vhdx")
        try Disks.make(raw, size: 45 << 20 + 1024, seed: 61)
        let (status, output) = QemuImg.convert(raw, to: image, format: "vhdx")
        try #require(status == 0, "\(output)")
        let file = try PlainImageFile(readingFrom: image)
        #expect(try FormatRegistry.probe(file) == VHDXFormat.self)
        #expect(try VHDXFormat.check(file) == [])
        let info = try VHDXFormat.info(file)
        #expect(info.virtualSize == QemuImg.virtualSize(image, format: "vhdx"))
        let cluster = (QemuImg.info(image, format: "vhdx")["cluster-size"] as? NSNumber)?.intValue
        #expect(info.details["block size"] == cluster.map { "\($0)" })
        #expect(info.details["creator"]?.hasPrefix("QEMU") == true)
        #expect(Int(info.details["allocated blocks"] ?? "0")! > 0)
    }

    @Test("damaged header and region table CRCs are reported")
    func corruptCRCsAreReported() throws {
        let dir = TempDir("vhdx")
        let raw = dir.file("disk.raw"), image = dir.file("disk.vhdx")
        try Disks.make(raw, size: 9 << 20, seed: 71)
        try Feed.build(VHDXFormat.self, variant: "dynamic", from: raw, to: image, blockSize: 65536)
        try Feed.poke(image, at: (64 << 10) + 100, [0x01])          // header 1's reserved area
        var problems = try VHDXFormat.check(PlainImageFile(readingFrom: image))
        #expect(problems.contains { $0.contains("header 1") && $0.contains("CRC-32C") }, "\(problems)")
        #expect(QemuImg.same(image, format: "vhdx", as: raw).0, "the other header still opens it")
        try Feed.poke(image, at: (256 << 10) + 200, [0x01])         // region table 2
        problems = try VHDXFormat.check(PlainImageFile(readingFrom: image))
        #expect(problems.contains { $0.contains("region table 2") }, "\(problems)")
        try Feed.poke(image, at: (128 << 10) + 100, [0x01])         // header 2 too: nothing left
        problems = try VHDXFormat.check(PlainImageFile(readingFrom: image))
        #expect(problems.contains { $0.contains("neither VHDX header is valid") }, "\(problems)")
        #expect(throws: UnderstudyError.self) { try VHDXFormat.info(PlainImageFile(readingFrom: image)) }
    }

    @Test("a BAT entry pointing past the end or at metadata is reported")
    func badBATIsReported() throws {
        let dir = TempDir("vhdx")
        let raw = dir.file("disk.raw"), image = dir.file("disk.vhdx")
        try Disks.make(raw, size: 9 << 20, seed: 73)
        try Feed.build(VHDXFormat.self, variant: "dynamic", from: raw, to: image, blockSize: 65536)
        let end = try Feed.fileSize(image)
        var entry = VHDFields(count: 8, bigEndian: false)
        entry.set(UInt64(end) | 6, 0)
        try Feed.poke(image, at: VHDXSpec.batOffset, entry.bytes)
        entry.set(UInt64(VHDXSpec.metadataOffset) | 6, 0)
        try Feed.poke(image, at: VHDXSpec.batOffset + 8, entry.bytes)
        let problems = try VHDXFormat.check(PlainImageFile(readingFrom: image))
        #expect(problems.contains { $0.contains("payload block 0") && $0.contains("past the file's end") }, "\(problems)")
        #expect(problems.contains { $0.contains("overlaps the metadata region") || $0.contains("payload block 1") }, "\(problems)")
        let qemu = QemuImg.check(image, format: "vhdx")
        #expect(qemu.status != 0, "qemu-img check agrees the image is damaged: \(qemu.output)")
    }

    @Test("updates in place: new blocks at the MiB-aligned end, changed BAT pages, next header", arguments: [65536, 4 << 20])
    func updatesInPlace(blockSize: Int) throws {
        let dir = TempDir("vhdx")
        let a = dir.file("a.raw"), b = dir.file("b.raw"), image = dir.file("disk.vhdx")
        try Disks.make(a, size: 41 << 20 + 1024, seed: 81, regions: 6)
        try Disks.copy(a, b)
        try Feed.poke(b, at: 39 << 20, [UInt8](repeating: 0xC3, count: 70_000))
        try Disks.mutate(b, seed: 82, writes: 8)
        try Feed.poke(b, at: 0, [UInt8](repeating: 0, count: 1 << 20))
        try Feed.build(VHDXFormat.self, variant: "dynamic", from: a, to: image, blockSize: blockSize)
        let before = try VHDXImage.read(PlainImageFile(readingFrom: image))
        let (written, changed) = try Feed.update(VHDXFormat.self, image: image, from: a, to: b, blockSize: blockSize)
        #expect(QemuImg.same(image, format: "vhdx", as: b).0, "updated image differs from B")
        let check = QemuImg.check(image, format: "vhdx")
        #expect(check.status == 0, "\(check.output)")
        #expect(try VHDXFormat.check(PlainImageFile(readingFrom: image)) == [])
        #expect(try Feed.fileSize(image) % (1 << 20) == 0)
        #expect(Feed.vhdiMediaSize(image) == (try Feed.fileSize(b)))
        // Changed store blocks (new VHDX blocks are written only where data goes), a BAT page or
        // two, and one header.
        #expect(written <= Int64(changed * blockSize) + 64 << 10, "wrote \(written) for \(changed) blocks")
        let after = try VHDXImage.read(PlainImageFile(readingFrom: image))
        #expect(after.header.sequenceNumber == before.header.sequenceNumber + 1 && after.headerSlot != before.headerSlot)
        #expect(after.header.dataWriteGuid != before.header.dataWriteGuid)
        #expect(after.presentBlocks >= before.presentBlocks)
    }
}
