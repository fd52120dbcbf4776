import BlockStore
import Foundation
import Testing
import TestSupport
import Core
import ChunkFormat

@Suite("Corruption is detected, named and never silently restored")
struct CorruptionTests {
    /// A store with one point and the id of a data chunk used exactly once, at `block`.
    static func setUp() throws -> (TestStore, RecoveryPoint, String, Int, ChunkID) {
        let t = try TestStore()
        let disk = t.dir.file("disk.img")
        var rng = SeededRandom(seed: 21)
        var data = Data(count: 20 * 65536 + 100)
        for block in [2, 5, 9, 17] {
            data.replaceSubrange(block * 65536..<(block + 1) * 65536, with: Disks.randomBytes(65536, using: &rng))
        }
        _ = FileManager.default.createFile(atPath: disk, contents: data)
        let point = try t.capture("m", disk)
        let id = ChunkID.hash(data[9 * 65536..<10 * 65536].withUnsafeBytes { UnsafeRawBufferPointer($0) })
        return (t, point, disk, 9, id)
    }

    @Test func flippedChunkIsNamedByVerifyAndRefusedByRestore() throws {
        let (t, point, _, block, id) = try Self.setUp()
        try t.flipByte(of: id)

        let report = try t.store.verifyChunks()
        #expect(report.problems.contains { $0.kind == "corrupt-chunk" && $0.chunk == id && $0.block == nil })
        let precise = report.problems.first { $0.machine == "m" && $0.point == point.id && $0.block == block && $0.chunk == id }
        #expect(precise != nil, "verify did not name machine, point and block: \(report.problems)")

        let out = t.dir.file("out.img")
        let error = #expect(throws: UnderstudyError.self) { try t.restore(point, to: out) }
        #expect(error?.code == .corruptChunk)
        #expect(error?.location.machine == "m")
        #expect(error?.location.point == point.id)
        #expect(error?.location.block == block)
        #expect(error?.location.offset == Int64(block) * 65536)
        #expect(error?.location.chunk == id.hex)
        #expect(!FileSystem.exists(out), "a failed restore left the target behind")
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: t.dir.path).filter { $0.contains("understudy-") }
        #expect(leftovers.isEmpty, "temp files left: \(leftovers)")
    }

    @Test func ignoreErrorsFillsTheBadBlockWithZerosAndListsIt() throws {
        let (t, point, disk, block, id) = try Self.setUp()
        try t.flipByte(of: id)
        let out = t.dir.file("out.img")
        let report = try t.restore(point, to: out, ignoreErrors: true)
        #expect(report.badBlocks.map(\.block) == [block])
        #expect(report.badBlocks.first?.chunk == id)
        var expected = try Data(contentsOf: URL(fileURLWithPath: disk))
        expected.replaceSubrange(block * 65536..<(block + 1) * 65536, with: Data(count: 65536))
        #expect(try Data(contentsOf: URL(fileURLWithPath: out)) == expected)
    }

    @Test func truncatedPackIsNamed() throws {
        let (t, point, _, _, id) = try Self.setUp()
        try t.truncatePack(inside: id)
        let report = try t.store.verifyChunks()
        // Everything after the cut is gone too (here the index page): each is named.
        #expect(report.problems.contains { $0.kind == "corrupt-chunk" && $0.chunk == id && $0.message.contains("cut short") })
        #expect(report.problems.contains { $0.point == point.id && $0.machine == "m" })
        let cut = #expect(throws: UnderstudyError.self) { try t.restore(point, to: t.dir.file("cut.img")) }
        #expect(cut?.code == .corruptChunk)
        #expect(!FileSystem.exists(t.dir.file("cut.img")))
    }

    @Test func missingChunksAreNamed() throws {
        let (t, point, _, block, id) = try Self.setUp()
        try Self.deleteRow(of: id, in: t)
        let report = try t.store.verifyChunks()
        #expect(report.problems.contains { $0.kind == "missing-chunk" && $0.block == block && $0.chunk == id })
        let error = #expect(throws: UnderstudyError.self) { try t.restore(point, to: t.dir.file("out.img")) }
        #expect(error?.code == .missingChunk)
        #expect(error?.location.block == block)
    }

    @Test func flippedIndexPageIsNamedByVerifyAndRefusedByRestore() throws {
        let (t, point, _, _, _) = try Self.setUp()
        #expect(point.index.depth == 1)
        try t.flipByte(of: point.index.root)
        let report = try t.store.verifyChunks()
        #expect(report.problems.contains { $0.kind == "corrupt-index-page" && $0.chunk == point.index.root && $0.point == point.id })
        let out = t.dir.file("out.img")
        let error = #expect(throws: UnderstudyError.self) { try t.restore(point, to: out) }
        #expect(error?.code == .corruptChunk)
        #expect(error?.location.chunk == point.index.root.hex)
        #expect(!FileSystem.exists(out))
    }

    /// Simulates a lost chunk: its catalog row is removed with the sqlite3 tool.
    static func deleteRow(of id: ChunkID, in t: TestStore) throws {
        let r = shell("sqlite3 \(t.dir.file("store/catalog.sqlite")) \"DELETE FROM chunk WHERE id = x'\(id.hex)'\"")
        try #require(r.status == 0, "\(r.output)")
    }

    @Test func soundStoreVerifiesClean() throws {
        let (t, point, _, _, _) = try Self.setUp()
        let report = try t.store.verifyChunks()
        #expect(report.problems.isEmpty)
        #expect(report.points == 1)
        #expect(report.chunks == point.stats.newChunks)
    }
}
