@testable import BlockStore
import Foundation
import Testing
import TestSupport
import Core
import ChunkFormat

/// Issue #8, finding 2.6: gc rewrites packs whose leftover space punching cannot free, so a store
/// returns to the size of a fresh store holding the same points, without losing a chunk or a
/// reader's way to it.
@Suite("gc rewrites wasteful packs")
struct PackCompactionTests {
    /// Points of an 8 MiB disk changed between captures, the first `forget` of them forgotten;
    /// returns the store, the kept points and copies of their disks.
    func storeWithForgottenPoints(points: Int = 4, forget: Int = 2) throws -> (TestStore, [(RecoveryPoint, String)]) {
        let t = try TestStore()
        let disk = t.randomDisk(size: 8 << 20, seed: 611)
        var kept: [(RecoveryPoint, String)] = []
        for n in 0..<points {
            if n > 0 { try Disks.mutate(disk, seed: 612 + UInt64(n), writes: 60) }
            let point = try t.capture("m", disk)
            let copy = t.dir.file("p\(n).img")
            try Disks.copy(disk, copy)
            kept.append((point, copy))
        }
        for (point, _) in kept.prefix(forget) { _ = try t.store.forget(machine: "m", point: point.id!) }
        return (t, Array(kept.dropFirst(forget)))
    }

    func freshPackBytes(_ images: [String]) throws -> Int64 {
        let fresh = try TestStore()
        for image in images { _ = try fresh.capture("m", image) }
        return allocatedPackBytes(fresh.store)
    }

    func expectRestores(_ t: TestStore, _ kept: [(RecoveryPoint, String)]) throws {
        for (point, image) in kept {
            let out = t.dir.file("out.img")
            _ = try t.restore(point, to: out)
            #expect(Disks.equal(out, image), "point \(point.id!) differs after the rewrite")
            unlink(out)
        }
    }

    @Test func rewritingReturnsTheStoreToAFreshStoresSize() throws {
        let (t, kept) = try storeWithForgottenPoints()
        let punchedOnly = try t.store.collectGarbage(maxUnused: 1)  // 100 %: punch, never rewrite
        #expect(punchedOnly.compactedPacks == 0)
        let fresh = try freshPackBytes(kept.map(\.1))
        let before = allocatedPackBytes(t.store)
        #expect(before > fresh, "punching alone left no partial blocks to rewrite (\(before) vs \(fresh))")

        let dry = try t.store.collectGarbage(dryRun: true)
        #expect(dry.compactedPacks > 0)
        #expect(allocatedPackBytes(t.store) == before, "a dry run changed the packs")

        let report = try t.store.collectGarbage()
        #expect(report.compactedPacks == dry.compactedPacks)
        #expect(report.newPacks >= 1 && report.compactedBytes > 0)
        #expect(report.damagedPacks.isEmpty)
        let after = allocatedPackBytes(t.store)
        print("rewrite: packs \(before) B -> \(after) B; fresh store \(fresh) B (\(String(format: "%+.2f", 100 * (Double(after) / Double(fresh) - 1))) %)")
        #expect(after == report.packBytes)
        #expect(Double(after) <= Double(fresh) * 1.01, "store holds \(after) bytes, a fresh one \(fresh)")
        #expect(try t.store.verifyChunks().problems.isEmpty)
        try expectRestores(t, kept)
        // Nothing left to rewrite or punch.
        let again = try t.store.collectGarbage()
        #expect(again.compactedPacks == 0 && again.punchedBytes == 0)
    }

    @Test func aReaderHoldingOldLocationsReadsTheMovedChunks() throws {
        let (t, kept) = try storeWithForgottenPoints()
        // Another process (the chunk service) looked the chunks up, and has some packs open already.
        let reader = try Store(path: t.store.path, create: false)
        var live = Set<ChunkID>()
        for (point, _) in kept {
            try BlockIndexReader.walk(point.index, chunks: reader.chunks, page: { id, _, _ in live.insert(id).inserted },
                                      entry: { id, _ in if !id.isZero { live.insert(id) } })
        }
        let stale = try reader.chunks.locations(of: live)
        let opened = stale.filter { $0.key.bytes[0] < 128 }
        for (id, location) in opened { _ = try reader.chunks.storedBytes(at: location, id: id) }

        let report = try t.store.collectGarbage(maxUnused: 0)
        #expect(report.compactedPacks > 0)
        let moved = try t.store.chunks.locations(of: live)
        #expect(moved.contains { stale[$0.key]?.pack != $0.value.pack }, "no chunk moved")
        // At once (packs it holds open: the old, still intact, records), and after the reader's
        // check for unlinked packs is due (the old packs are gone: looked up again).
        for round in 0..<2 {
            if round == 1 { Thread.sleep(forTimeInterval: Double(LocalPackStorage.unlinkCheckInterval.components.seconds) + 0.2) }
            for (id, location) in stale {
                var frame = [UInt8](repeating: 0, count: location.length)
                try frame.withUnsafeMutableBytes { try reader.chunks.readStored(at: location, id: id, into: $0.baseAddress!) }
                #expect(frame == (try t.store.chunks.storedBytes(of: id)), "chunk \(id.hex) read wrong through a stale location (round \(round))")
            }
        }
        // The old packs are closed, not held open: their space goes back to the file system.
        let held = try FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd").compactMap {
            try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/fd/" + $0)
        }
        #expect(!held.contains { $0.hasSuffix(".pack (deleted)") }, "\(held.filter { $0.contains("deleted") })")
    }

    @Test func aDamagedLiveRecordIsNeverCopied() throws {
        let (t, kept) = try storeWithForgottenPoints()
        func chunks(of point: RecoveryPoint) throws -> Set<ChunkID> {
            var ids = Set<ChunkID>()
            try BlockIndexReader.walk(point.index, chunks: t.store.chunks, page: { _, _, _ in true },
                                      entry: { id, _ in if !id.isZero { ids.insert(id) } })
            return ids
        }
        // A block only the first kept point holds, so the others must still restore.
        let others = try kept.dropFirst().reduce(into: Set<ChunkID>()) { $0.formUnion(try chunks(of: $1.0)) }
        // In the oldest pack, which lost the most records to the forgotten points and is rewritten.
        let candidates = try t.store.chunks.locations(of: try chunks(of: kept[0].0).subtracting(others))
        let (victim, location) = try #require(candidates.min { $0.value.pack < $1.value.pack })
        let pack = location.pack
        try t.flipByte(of: victim)

        let report = try t.store.collectGarbage(maxUnused: 0)
        #expect(report.damagedPacks.contains { $0.hasPrefix("pack \(pack) kept:") && $0.contains(victim.hex) }, "\(report.damagedPacks)")
        #expect(FileSystem.exists(t.store.layout.pack(pack)), "the damaged pack was deleted")
        #expect(try t.store.chunks.location(of: victim)?.pack == pack)
        let problems = try t.store.verifyChunks().problems
        #expect(problems.contains { "\($0)".contains(victim.hex) }, "\(problems)")
        // The other packs were rewritten and their points still restore.
        #expect(report.compactedPacks > 0)
        try expectRestores(t, Array(kept.dropFirst()))
    }

    @Test func theCatalogGivesBackThePagesGCFreed() throws {
        let t = try TestStore()
        let catalog = t.store.catalog
        func fileSize() -> Int64 {
            var st = stat()
            return stat(catalog.path, &st) == 0 ? Int64(st.st_size) : -1
        }
        // 20,000 chunk rows (what a 1.2 GiB disk of 64 KiB blocks records), then gc deleting them.
        let pack = try catalog.newPack(above: 0)
        let rows = (0..<20_000).map { n -> StoredChunk in
            let id = withUnsafeBytes(of: n) { ChunkID.hash($0) }
            return StoredChunk(id: id, location: ChunkLocation(pack: pack, offset: Int64(n) * 100, length: 52, plainLength: 65536))
        }
        try catalog.write { try Catalog.insertChunks(rows, $0) }
        _ = catalog.shrink()  // the WAL checkpointed into the file
        let full = fileSize()
        try catalog.deleteChunks(rows.map(\.id))
        #expect(fileSize() == full, "deleting rows alone shrank the file")
        let freed = catalog.shrink()
        #expect(freed > 0 && fileSize() < full / 4, "catalog \(full) -> \(fileSize()) bytes, \(freed) freed")
        // Still the same catalog.
        #expect(try catalog.chunkCount() == 0)
        #expect(try catalog.packIDs() == [pack])
        #expect(catalog.shrink() == 0, "a second shrink found more to give back")
    }
}
