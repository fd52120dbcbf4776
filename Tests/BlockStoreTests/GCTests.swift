import BlockStore
import Foundation
import Testing
import TestSupport
import Core
import ChunkFormat

@Suite("Forget and garbage collection")
struct GCTests {
    @Test func gcFreesOnlyWhatNoPointUses() throws {
        let t = try TestStore()
        let disk = t.dir.file("disk.img")
        try Disks.make(disk, size: 4 << 20, seed: 31)
        let a = try t.capture("m", disk)
        let copyA = t.dir.file("a.img")
        try Disks.copy(disk, copyA)
        try Disks.mutate(disk, seed: 32, writes: 20)
        let b = try t.capture("m", disk)
        let before = t.chunkCount

        var report = try t.store.collectGarbage()
        #expect(report.removedChunks == 0)
        #expect(report.referencedChunks == before)

        _ = try t.store.forget(machine: "m", point: b.id!)
        let dry = try t.store.collectGarbage(dryRun: true)
        #expect(dry.removedChunks > 0)
        #expect(t.chunkCount == before)
        report = try t.store.collectGarbage()
        #expect(report.removedChunks == dry.removedChunks)
        #expect(t.chunkCount == before - report.removedChunks)
        // b's pack held only b's chunks: it is gone; a's pack stays.
        #expect(report.removedPacks == 1)
        #expect(t.packFiles.count == 1)
        #expect(try t.store.verifyChunks().problems.isEmpty)
        let out = t.dir.file("out.img")
        _ = try t.restore(a, to: out)
        #expect(Disks.equal(out, copyA))
        #expect(throws: UnderstudyError.self) { try t.store.forget(machine: "m", point: b.id!) }
    }

    @Test func deadChunksArePunchedOutOfSharedPacks() throws {
        let t = try TestStore()
        let disk = t.randomDisk(size: 4 << 20, seed: 34)
        let a = try t.capture("m", disk)
        try Disks.mutate(disk, seed: 35, writes: 30)
        let b = try t.capture("m", disk)
        let pack = t.store.layout.pack(1)
        func allocated() -> Int64 { var st = stat(); stat(pack, &st); return Int64(st.st_blocks) * 512 }
        let before = allocated()
        _ = try t.store.forget(machine: "m", point: a.id!)
        let report = try t.store.collectGarbage()
        #expect(report.removedChunks > 0)
        #expect(allocated() < before - Int64(report.removedChunks) * 32 << 10, "dead chunks were not punched out")
        let out = t.dir.file("b.img")
        _ = try t.restore(b, to: out)
        #expect(Disks.equal(out, disk))
        #expect(try t.store.verifyChunks().problems.isEmpty)
    }

    @Test func gcWaitsForWritersOrRefusesWithNoWait() throws {
        let t = try TestStore()
        do {
            let writing = try t.store.lockForWriting()
            let error = #expect(throws: UnderstudyError.self) { try t.store.collectGarbage(wait: false) }
            #expect(error?.code == .locked)
            withExtendedLifetime(writing) {}
        }
        #expect(try t.store.collectGarbage(wait: false).removedChunks == 0)
    }

    @Test func packsOfAFailedWriterAreRemoved() throws {
        let t = try TestStore()
        do {
            let writer = t.store.packWriter()
            let id = ChunkID.hash(UnsafeRawBufferPointer(start: nil, count: 0))
            let record = [UInt8](repeating: 0, count: 48 + 20)
            try writer.lookUp([id])
            #expect(writer.claim(id))
            try record.withUnsafeBytes { try writer.append(id, record: $0, plainLength: 0) }
            // The writer dies here: no finish, no commit.
        }
        #expect(t.packFiles == ["1.pack.tmp"])
        let report = try t.store.collectGarbage()
        #expect(report.removedPacks == 1)
        #expect(t.packFiles.isEmpty)
        #expect(t.chunkCount == 0)
    }
}
