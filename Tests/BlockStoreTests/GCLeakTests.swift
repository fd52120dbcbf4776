@testable import BlockStore
import Foundation
import Testing
import TestSupport
import ChunkFormat

/// Bytes the pack files hold on disk (allocated blocks, as `du` counts them).
func allocatedPackBytes(_ store: Store) -> Int64 {
    let names = (try? FileManager.default.contentsOfDirectory(atPath: store.layout.packs)) ?? []
    return names.reduce(0) { total, name in
        var st = stat()
        return stat(store.layout.packs + "/" + name, &st) == 0 ? total + Int64(st.st_blocks) * 512 : total
    }
}

/// Issue #8, finding 2.6: whatever an interrupted gc leaves, the next gc reclaims.
@Suite("gc reclaims what an interrupted gc left")
struct GCLeakTests {
    /// A store holding point A and B of random data, A forgotten; B restored to `b.img`.
    func forgottenPoint() throws -> (TestStore, RecoveryPoint) {
        let t = try TestStore()
        let disk = t.randomDisk(size: 8 << 20, seed: 301)
        let a = try t.capture("m", disk)
        try Disks.mutate(disk, seed: 302, writes: 40)
        let b = try t.capture("m", disk)
        try Disks.copy(disk, t.dir.file("b.img"))
        _ = try t.store.forget(machine: "m", point: a.id!)
        return (t, b)
    }

    /// The size of a fresh store holding only `image` captured once.
    func freshSize(of image: String) throws -> Int64 {
        let fresh = try TestStore()
        _ = try fresh.capture("m", image)
        return allocatedPackBytes(fresh.store)
    }

    @Test func recordsWhoseRowsAKilledGCDeletedAreReclaimed() throws {
        let (t, b) = try forgottenPoint()
        // What a gc killed right after committing its row deletions leaves: rows gone, records not punched.
        var live = Set<ChunkID>()
        try BlockIndexReader.walk(b.index, chunks: t.store.chunks, page: { id, _, _ in live.insert(id).inserted },
                                  entry: { id, _ in live.insert(id) })
        var dead: [ChunkID] = []
        try t.store.chunks.forEachChunk { id, _ in if !live.contains(id) { dead.append(id) } }
        #expect(dead.count > 30)
        try t.store.catalog.deleteChunks(dead)
        let leaked = allocatedPackBytes(t.store)

        let report = try t.store.collectGarbage()
        #expect(report.removedChunks == 0, "the rows were already gone")
        #expect(report.punchedBytes > Int64(dead.count) * 48 << 10, "records with no row were not punched: \(report)")
        let after = allocatedPackBytes(t.store)
        #expect(after < leaked)
        #expect(after == report.packBytes)
        // Nothing is left but the blocks live records touch (a few KiB of extent tree aside).
        #expect(after <= report.minimumPackBytes + 64 << 10, "packs hold \(after) bytes, live records touch \(report.minimumPackBytes)")
        // A fresh store packs the same records without the partial blocks at live/dead edges.
        let fresh = try freshSize(of: t.dir.file("b.img"))
        print("gc after a kill: packs \(after) B, minimum \(report.minimumPackBytes) B, fresh store \(fresh) B (\(String(format: "%+.2f", 100 * (Double(after) / Double(fresh) - 1))) %)")
        #expect(Double(after) <= Double(fresh) * 1.02, "store holds \(after) bytes, a fresh one \(fresh)")
        #expect(try t.store.verifyChunks().problems.isEmpty)
        let out = t.dir.file("out.img")
        _ = try t.restore(b, to: out)
        #expect(Disks.equal(out, t.dir.file("b.img")))
        // Nothing left for the next gc.
        #expect(try t.store.collectGarbage().punchedBytes == 0)
    }

    @Test func packsEmptiedByAKilledGCAreRemoved() throws {
        let t = try TestStore()
        let disk = t.dir.file("disk.img")
        try Disks.make(disk, size: 2 << 20, seed: 303)
        let a = try t.capture("m", disk)
        let x = try t.capture("x", t.randomDisk("x.img", size: 2 << 20, seed: 304))
        _ = try t.store.forget(machine: "x", point: x.id!)
        // A gc killed after deleting the rows of x's chunks, before removing x's pack.
        var dead: [ChunkID] = []
        try t.store.chunks.forEachChunk { id, location in if location.pack == 2 { dead.append(id) } }
        try t.store.catalog.deleteChunks(dead)
        #expect(t.packFiles == ["1.pack", "2.pack"])
        let report = try t.store.collectGarbage()
        #expect(report.removedPacks == 1)
        #expect(t.packFiles == ["1.pack"])
        #expect(report.unknownPacks.isEmpty)
        let out = t.dir.file("a.img")
        _ = try t.restore(a, to: out)
        #expect(Disks.equal(out, disk))
    }
}
