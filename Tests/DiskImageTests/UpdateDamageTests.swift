import BlockStore
@testable import DiskImage
import Foundation
import Testing
import TestSupport
import Core

/// Issue #8 finding 2.2: an image damaged without its size, mtime or inode changing was updated
/// in place and the update reported success (qcow2, VMDK), or the updater trapped. An update
/// must check the structures it follows first and refuse as VHD and VHDX do, leaving the
/// image exactly as it was.
@Suite("Updates: a damaged image is refused, never written into")
struct UpdateDamageTests {
    /// Damages the fixture's image (keeping its fingerprint), then expects the update to refuse
    /// with the common wording and to leave every byte and the record as they were.
    func expectRefusal(_ f: HostileImage.Fixture, _ c: FormatCase, _ damage: () throws -> Void,
                       sourceLocation: SourceLocation = #_sourceLocation) throws {
        try HostileImage.damageKeepingFingerprint(f.image, damage)
        let before = try #require(FileManager.default.contents(atPath: f.image))
        let error = #expect(throws: UnderstudyError.self, sourceLocation: sourceLocation) {
            try ImageUpdater.update(store: f.store, point: f.b, at: f.image, options: c.options())
        }
        #expect(error?.message.contains("is damaged, so it is not updated in place") == true, "\(error?.message ?? "")",
                sourceLocation: sourceLocation)
        #expect(FileManager.default.contents(atPath: f.image) == before, "the refused update changed the image", sourceLocation: sourceLocation)
        #expect(!FileManager.default.fileExists(atPath: JournaledFile.journalPath(of: f.image)), sourceLocation: sourceLocation)
        #expect(ImageRecord.load(for: f.image)?.point == f.a.id, sourceLocation: sourceLocation)
    }

    static let qcow2 = FormatCase(format: "qcow2", variant: "v3", compress: false)

    /// Offsets of the first L2 table, its first allocated entry, and the first refcount block.
    func qcow2Layout(_ path: String) throws -> (l1: Int64, l2: Int64, entry: Int64, refcountBlock: Int64) {
        let l1 = Int64(try HostileImage.get(UInt64.self, path, at: 40, bigEndian: true))
        let l2 = Int64(try HostileImage.get(UInt64.self, path, at: l1, bigEndian: true) & QCOW2Header.offsetMask)
        let table = try HostileImage.read(path, at: l2, count: 65536)
        let slot = try #require((0..<8192).first { Binary.loadBE(UInt64.self, table, $0 * 8) != 0 })
        let refcountTable = Int64(try HostileImage.get(UInt64.self, path, at: 48, bigEndian: true))
        let block = Int64(try HostileImage.get(UInt64.self, path, at: refcountTable, bigEndian: true))
        return (l1, l2, l2 + Int64(slot) * 8, block)
    }

    @Test func qcow2L2EntryPointingAtARefcountBlock() throws {
        let f = try HostileImage.fixture(Self.qcow2)
        let layout = try qcow2Layout(f.image)
        try expectRefusal(f, Self.qcow2) {
            try HostileImage.put(f.image, at: layout.entry, UInt64(layout.refcountBlock) | QCOW2Header.copiedFlag, bigEndian: true)
        }
    }

    /// The updater trapped here ("Negative value is not representable").
    @Test func qcow2ZeroedRefcountBlock() throws {
        let f = try HostileImage.fixture(Self.qcow2)
        let layout = try qcow2Layout(f.image)
        try expectRefusal(f, Self.qcow2) {
            try HostileImage.write(f.image, at: layout.refcountBlock, [UInt8](repeating: 0, count: 65536))
        }
    }

    /// Found by the long fuzz run (seed 20261130, qcow2 mutants 3122 and 3611): a snapshot table
    /// offset QEMU refuses even with no snapshots (misaligned, or past INT64_MAX) passed our check,
    /// so the update succeeded and left an image qemu-img cannot open.
    @Test(arguments: [UInt64(16), UInt64(10_520_408_729_537_478_656)])
    func qcow2SnapshotTableOffsetQEMURefuses(_ offset: UInt64) throws {
        let f = try HostileImage.fixture(Self.qcow2)
        try expectRefusal(f, Self.qcow2) { try HostileImage.put(f.image, at: 64, offset, bigEndian: true) }
        #expect(shell("qemu-img info '\(f.image)' 2>&1").output.contains("Snapshot table offset invalid"), "qemu-img opens it: the test no longer shows what QEMU refuses")
    }

    /// Found by the suite's fuzzing (seed 8, VHD mutants 60, 61, 66): a dynamic VHD whose file had
    /// grown by a length that is not whole sectors got its new block entered in the BAT 50 bytes
    /// before where the data went, so the "updated" image read shifted data.
    @Test func vhdDynamicGrownByAnOddLengthUpdatesExactly() throws {
        let c = FormatCase(format: "vhd", variant: "dynamic", compress: false)
        let f = try HostileImage.fixture(c)
        let handle = try #require(FileHandle(forWritingAtPath: f.image))
        try handle.seekToEnd()
        try handle.write(contentsOf: Data(count: 63_538))
        try handle.close()
        var record = try #require(ImageRecord.load(for: f.image))
        record.fingerprint = try ImageRecord.fingerprint(of: f.image)  // as if Understudy had left it so
        try record.save(for: f.image)
        _ = try ImageUpdater.update(store: f.store, point: f.b, at: f.image, options: c.options())
        var raw = ImageBuilder.Options()
        raw.force = true
        _ = try ImageBuilder.build(store: f.store, point: f.b, to: f.dir.file("b.raw"), options: raw)
        let same = QemuImg.same(f.image, format: "vhd", as: f.dir.file("b.raw"))
        #expect(same.0, "\(same.1)")
    }

    /// Found by the long fuzz run (seed 20261130, VHD fixed mutant 4581): a footer whose creator
    /// field changed makes QEMU size the disk by its CHS geometry; the update checked only the
    /// current size, succeeded, and left an image QEMU reads at another size.
    @Test func vhdCreatorThatMakesQEMUUseCHSGeometry() throws {
        let c = FormatCase(format: "vhd", variant: "fixed", compress: false)
        let f = try HostileImage.fixture(c)
        let footer = (try FileManager.default.attributesOfItem(atPath: f.image)[.size] as! NSNumber).int64Value - 512
        try expectRefusal(f, c) {
            try HostileImage.write(f.image, at: footer + 28, Array("vpc ".utf8))
            try HostileImage.resealVHDFooter(f.image, at: footer)
        }
        let qemu = shell("qemu-img info --output=json '\(f.image)'").output
        #expect(!qemu.contains("\"virtual-size\": \(f.a.diskSize)"), "QEMU reads the original size: the test no longer shows the problem")
    }

    @Test(arguments: [UInt64(1) << 63 | 0x00FF_0000_0000_0000, UInt64(1) << 63 | 0x10200])
    func qcow2DamagedL1Entry(_ entry: UInt64) throws {
        let f = try HostileImage.fixture(Self.qcow2)
        let layout = try qcow2Layout(f.image)
        try expectRefusal(f, Self.qcow2) { try HostileImage.put(f.image, at: layout.l1, entry, bigEndian: true) }
    }

    static let sparse = FormatCase(format: "vmdk", variant: "monolithicSparse", compress: false)

    /// A grain-table entry pointing at the grain directory, in both copies of the table (so the
    /// copies still agree and only the overlap gives the damage away).
    @Test func vmdkGrainTableEntryPointingAtTheGrainDirectory() throws {
        let f = try HostileImage.fixture(Self.sparse)
        let gd = try HostileImage.get(UInt64.self, f.image, at: 56, bigEndian: false)
        let rgd = try HostileImage.get(UInt64.self, f.image, at: 48, bigEndian: false)
        try expectRefusal(f, Self.sparse) {
            for directory in [gd, rgd] {
                let table = Int64(try HostileImage.get(UInt32.self, f.image, at: Int64(directory) * 512, bigEndian: false)) * 512
                let entries = try HostileImage.read(f.image, at: table, count: 2048)
                let slot = try #require((0..<512).first { Binary.loadLE(UInt32.self, entries, $0 * 4) != 0 })
                try HostileImage.put(f.image, at: table + Int64(slot) * 4, UInt32(gd), bigEndian: false)
            }
        }
    }

    /// One copy of the grain directory lacks a table the other has: the updater would have
    /// written that copy's entries over the header (table sector 0).
    @Test func vmdkRedundantDirectoryEntryZeroed() throws {
        let f = try HostileImage.fixture(Self.sparse)
        let rgd = try HostileImage.get(UInt64.self, f.image, at: 48, bigEndian: false)
        try expectRefusal(f, Self.sparse) { try HostileImage.put(f.image, at: Int64(rgd) * 512, UInt32(0), bigEndian: false) }
    }

    /// Through the CLI, as the finding was found: a refusal, exit 1, the VHD/VHDX wording.
    @Test func cliRefusesTheDamagedQcow2() throws {
        let f = try HostileImage.fixture(Self.qcow2)
        let layout = try qcow2Layout(f.image)
        try HostileImage.damageKeepingFingerprint(f.image) {
            try HostileImage.put(f.image, at: layout.entry, UInt64(layout.refcountBlock) | QCOW2Header.copiedFlag, bigEndian: true)
        }
        let r = try CLI(store: f.dir.file("store")).run(["restore", "m", f.image])
        #expect(r.status == 1, "\(r.output)")
        #expect(r.stderr.contains("is damaged, so it is not updated in place"), "\(r.output)")
        #expect(!r.stdout.contains("updated"), "\(r.output)")
    }

    /// Undamaged images still update, and the result reads exactly as point B (qemu-img).
    @Test(arguments: HostileImage.kinds)
    func soundImagesStillUpdate(_ c: FormatCase) throws {
        let f = try HostileImage.fixture(c)
        _ = try ImageUpdater.update(store: f.store, point: f.b, at: f.image, options: c.options())
        let raw = f.dir.file("b.raw")
        var rawOptions = ImageBuilder.Options()
        rawOptions.force = true
        _ = try ImageBuilder.build(store: f.store, point: f.b, to: raw, options: rawOptions)
        let (same, why) = QemuImg.same(f.image, format: c.format, as: raw)
        #expect(same, "\(c): \(why)")
        #expect(try FormatRegistry.format(named: c.format).check(PlainImageFile(readingFrom: f.image)).isEmpty)
    }
}
