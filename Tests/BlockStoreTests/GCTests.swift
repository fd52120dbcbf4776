import BlockStore
import Foundation
import Testing
import TestSupport

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
        let before = t.chunkFiles.count

        // Nothing is garbage yet, and a fresh gc keeps what was just written.
        var report = try t.store.collectGarbage()
        #expect(report.removedChunks == 0)

        _ = try t.store.forget(machine: "m", point: b.id!)
        // b's chunks are younger than the cutoff's margin only for 2 s; wait it out.
        Thread.sleep(forTimeInterval: 3.1)
        report = try t.store.collectGarbage()
        #expect(report.removedChunks > 0)
        #expect(t.chunkFiles.count == before - report.removedChunks)
        #expect(try t.store.verifyChunks().problems.isEmpty)
        let out = t.dir.file("out.img")
        _ = try t.restore(a, to: out)
        #expect(Disks.equal(out, copyA))
        #expect(throws: StoreError.self) { try t.store.forget(machine: "m", point: b.id!) }
    }

    @Test func gcKeepsChunksOfARunningCapture() throws {
        let t = try TestStore()
        let disk = t.dir.file("disk.img")
        try Disks.make(disk, size: 2 << 20, seed: 33)
        let a = try t.capture("m", disk)
        _ = try t.store.forget(machine: "m", point: a.id!)
        Thread.sleep(forTimeInterval: 3.1)
        // A capture of another machine is running (holds its lock) and started before gc:
        // chunks it may reuse by content must survive even though no point refers to them.
        let lock = try t.store.lockMachine("other", purpose: "capture")
        Thread.sleep(forTimeInterval: 0.1)
        let touched = try t.store.chunks.touch(#require(t.chunkFiles.first.flatMap { ChunkID(hex: ($0 as NSString).lastPathComponent) }))
        #expect(touched)
        let report = try t.store.collectGarbage()
        #expect(report.keptRecent >= 1)
        withExtendedLifetime(lock) {}
    }
}
