import BlockStore
import Foundation
import Testing
import TestSupport

@Suite("Dedup and metadata cost")
struct DedupTests {
    @Test func capturingTheSameDiskTwiceWritesNothing() throws {
        let t = try TestStore()
        let disk = t.dir.file("disk.img")
        try Disks.make(disk, size: 8 << 20, seed: 11)
        let first = try t.capture("m", disk)
        let chunksAfterFirst = t.chunkCount
        let second = try t.capture("m", disk)
        #expect(first.stats.newChunks > 0)
        #expect(second.stats.newChunks == 0)
        #expect(second.stats.storedBytes == 0)
        #expect(second.stats.changedBlocks == 0)
        #expect(second.index.root == first.index.root)
        #expect(t.chunkCount == chunksAfterFirst)
    }

    @Test func twoMachinesWithIdenticalDisksShareChunks() throws {
        let t = try TestStore()
        let disk = t.dir.file("disk.img")
        try Disks.make(disk, size: 6 << 20, seed: 12)
        let a = try t.capture("alpha", disk)
        let count = t.chunkCount
        let b = try t.capture("beta", disk)
        #expect(a.stats.newChunks == count)
        #expect(b.stats.newChunks == 0)
        #expect(b.stats.dedupBlocks == b.stats.dataBlocks)
        #expect(t.chunkCount == count)
    }

    @Test func zeroRegionsStoreNothing() throws {
        let t = try TestStore()
        let disk = t.dir.file("zero.img")
        _ = FileManager.default.createFile(atPath: disk, contents: nil)
        try FileHandle(forWritingTo: URL(fileURLWithPath: disk)).truncate(atOffset: 100 << 20)
        let point = try t.capture("z", disk)
        #expect(point.stats.zeroBlocks == point.blockCount)
        #expect(point.stats.dataBlocks == 0)
        #expect(point.index.root == .zero)
        #expect(t.chunkCount == 0)
        #expect(t.packFiles.isEmpty)
        let out = t.dir.file("out.img")
        _ = try t.restore(point, to: out)
        #expect(Disks.equal(out, disk))
    }

    @Test func duplicateBlocksInOneDiskAreStoredOnce() throws {
        let t = try TestStore()
        let disk = t.dir.file("dup.img")
        var rng = SeededRandom(seed: 5)
        let block = Disks.randomBytes(65536, using: &rng)
        _ = FileManager.default.createFile(atPath: disk, contents: Data((0..<40).flatMap { _ in block }))
        let point = try t.capture("d", disk)
        #expect(point.stats.dataBlocks == 40)
        #expect(point.stats.newChunks == 2)  // the block and the index page
        #expect(point.stats.dedupBlocks == 39)
    }

    /// A point's metadata costs what changed: one block changed on a two-level index writes one
    /// leaf page and the root, whatever the disk size.
    @Test func metadataCostIsProportionalToChange() throws {
        let t = try TestStore()
        let disk = t.dir.file("big.img")
        try Disks.make(disk, size: 200 << 20, seed: 13, regions: 60)
        let first = try t.capture("m", disk)
        #expect(first.index.depth == 2)
        let h = try FileHandle(forWritingTo: URL(fileURLWithPath: disk))
        try h.seek(toOffset: 150 << 20)
        h.write(Data(repeating: 0xAB, count: 4096))
        try h.close()
        let second = try t.capture("m", disk)
        #expect(second.stats.changedBlocks == 1)
        #expect(second.stats.indexPages == 2)
        #expect(second.stats.newChunks == 3)
    }
}
