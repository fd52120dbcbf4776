import BlockStore
@testable import DiskImage
import Foundation
import Testing
import TestSupport
import Core

/// Issue #8, the update half of the fuzzing target: an update that exits 0 leaves an image that
/// reads as the point it names. Metadata damage was already refused (`UpdateDamageTests`); guest
/// data that decayed or was changed behind Understudy's back, in a block the update does not
/// rewrite, used to be carried into the "updated" image. Now the update reads back every block
/// it keeps first (`HeldPointCheck`) and refuses such an image, leaving it as it was.
@Suite("Updates: an image whose kept blocks no longer hold its point is refused")
struct HeldPointCheckTests {
    /// Kinds updated in place (a streamOptimized VMDK is always rebuilt), raw included.
    static var updatable: [FormatCase] {
        FormatCase.all.filter { !($0.format == "vmdk" && $0.variant == "streamOptimized") }
    }

    /// A non-zero block that B does not change, from the raw restores of both points.
    func keptBlock(_ f: HostileImage.Fixture) throws -> (block: Int, bytes: [UInt8]) {
        var raw = ImageBuilder.Options()
        raw.force = true
        let (aPath, bPath) = (f.dir.file("a.raw"), f.dir.file("b.raw"))
        _ = try ImageBuilder.build(store: f.store, point: f.a, to: aPath, options: raw)
        _ = try ImageBuilder.build(store: f.store, point: f.b, to: bPath, options: raw)
        let a = try #require(FileManager.default.contents(atPath: aPath)), b = try #require(FileManager.default.contents(atPath: bPath))
        let size = f.a.blockSize
        let block = try #require((0..<(a.count / size)).first { n in
            let r = (n * size)..<((n + 1) * size)
            return a[r] == b[r] && a[r].contains { $0 != 0 }
        })
        return (block, Array(a[(block * size)..<((block + 1) * size)]))
    }

    /// Changes one byte of the guest data of `block` where the image stores it: found by content
    /// for uncompressed kinds, through the L2 entry for compressed qcow2 (its frame is changed).
    func decay(_ f: HostileImage.Fixture, _ c: FormatCase, block: Int, bytes: [UInt8]) throws {
        let image = try #require(FileManager.default.contents(atPath: f.image))
        if c.compress {
            let clusterBits = Int(try HostileImage.get(UInt32.self, f.image, at: 20, bigEndian: true))
            let cluster = Int64(1) << clusterBits, l2Entries = cluster / 8
            let guest = Int64(block) * Int64(f.a.blockSize) / cluster
            let l1 = Int64(try HostileImage.get(UInt64.self, f.image, at: 40, bigEndian: true))
            let l2 = Int64(try HostileImage.get(UInt64.self, f.image, at: l1 + guest / l2Entries * 8, bigEndian: true) & QCOW2Header.offsetMask)
            let entry = try HostileImage.get(UInt64.self, f.image, at: l2 + guest % l2Entries * 8, bigEndian: true)
            #expect(entry & QCOW2Header.compressedFlag != 0, "cluster \(guest) is not compressed")
            let start = Int64(entry & ((1 << UInt64(62 - (clusterBits - 8))) - 1))
            try flip(f.image, at: start + 40)
            return
        }
        let probe = Data(bytes[(bytes.count / 2)..<(bytes.count / 2 + 64)])
        let found = try #require(image.range(of: probe), "block \(block)'s bytes are not in the image")
        try flip(f.image, at: Int64(found.lowerBound + 10))
    }

    func flip(_ path: String, at offset: Int64) throws {
        let byte = try HostileImage.read(path, at: offset, count: 1)[0]
        try HostileImage.write(path, at: offset, [byte ^ 0x20])
    }

    @Test(arguments: updatable)
    func decayedGuestDataIsRefused(_ c: FormatCase) throws {
        let f = try HostileImage.fixture(c, label: "heldpoint")
        let (block, bytes) = try keptBlock(f)
        try UpdateDamageTests().expectRefusal(f, c) { try decay(f, c, block: block, bytes: bytes) }
        let error = #expect(throws: UnderstudyError.self) { try ImageUpdater.update(store: f.store, point: f.b, at: f.image, options: c.options()) }
        #expect(error?.code == .damagedImage)
        let message = error?.message ?? ""
        #expect(message.contains("block \(block) ") && (message.contains("does not hold what point \(f.a.id!) wrote there") || message.contains("cannot be read back")),
                "\(message)")
        // A rebuild is what the message offers, and it works.
        _ = try ImageUpdater.update(store: f.store, point: f.b, at: f.image, options: c.options(), forceFull: true)
        #expect(QemuImg.same(f.image, format: c.format, as: try rawImage(f, f.b)).0)
    }

    @Test func aZeroBlockThatNoLongerReadsAsZerosIsRefused() throws {
        let c = FormatCase(format: "vhd", variant: "fixed", compress: false)
        let f = try HostileImage.fixture(c, label: "heldzero")
        // A fixed VHD holds guest byte N at file offset N: find a block zero in both points.
        let a = try #require(FileManager.default.contents(atPath: try rawImage(f, f.a)))
        let b = try #require(FileManager.default.contents(atPath: try rawImage(f, f.b)))
        let size = f.a.blockSize
        let zero = try #require((0..<(a.count / size)).first { n in
            let r = (n * size)..<((n + 1) * size)
            return !a[r].contains { $0 != 0 } && !b[r].contains { $0 != 0 }
        })
        try UpdateDamageTests().expectRefusal(f, c) { try HostileImage.write(f.image, at: Int64(zero * size + 4096), [0x55]) }
    }

    @Test func trustImageUpdatesWithoutTheCheck() throws {
        let c = FormatCase(format: "qcow2", variant: "v3", compress: false)
        let f = try HostileImage.fixture(c, label: "heldtrust")
        let (block, bytes) = try keptBlock(f)
        try HostileImage.damageKeepingFingerprint(f.image) { try decay(f, c, block: block, bytes: bytes) }
        var options = try c.options()
        options.trustImage = true
        let report = try ImageUpdater.update(store: f.store, point: f.b, at: f.image, options: options)
        #expect(report.mode == .update)
        #expect(ImageRecord.load(for: f.image)?.point == f.b.id)
        // Exactly what --trust-image warns of: the decayed block is carried into point B's image.
        #expect(!QemuImg.same(f.image, format: c.format, as: try rawImage(f, f.b)).0)
    }

    func rawImage(_ f: HostileImage.Fixture, _ point: RecoveryPoint) throws -> String {
        var raw = ImageBuilder.Options()
        raw.force = true
        let path = f.dir.file("point-\(point.id!).raw")
        _ = try ImageBuilder.build(store: f.store, point: point, to: path, options: raw)
        return path
    }
}
