import BlockStore
import Core
import Foundation
import Synchronization
import Testing
import TestSupport

/// A second `PackStorage`: packs in memory. If the store reached pack bytes any way but through
/// the protocol, captures, restores, verify and gc through this one would fail or leave files.
final class MemoryPackStorage: PackStorage {
    struct Pack {
        var bytes: [UInt8] = []
        var published = false
        var punched: Int64 = 0
    }
    let packsHeld = Mutex<[Int64: Pack]>([:])
    let calls = Mutex<[String: Int]>([:])

    private func note(_ call: String) { calls.withLock { $0[call, default: 0] += 1 } }

    func packs() throws -> Set<Int64> { Set(packsHeld.withLock { $0.keys }) }

    func create(_ number: Int64) throws -> any PackOutput {
        note("create")
        try packsHeld.withLock { table in
            guard table[number] == nil else { throw UnderstudyError(.alreadyExists, "pack \(number) exists") }
            table[number] = Pack()
        }
        return Output(number: number, storage: self)
    }

    func read(_ number: Int64, at offset: Int64, count: Int, into buffer: UnsafeMutableRawPointer) throws -> Int {
        note("read")
        return try packsHeld.withLock { table in
            guard let pack = table[number], pack.published else { throw UnderstudyError(.notFound, "pack \(number) is gone") }
            let n = max(0, min(count, pack.bytes.count - Int(offset)))
            pack.bytes.withUnsafeBytes { buffer.copyMemory(from: $0.baseAddress! + Int(offset), byteCount: n) }
            return n
        }
    }

    func syncPublished() throws { note("syncPublished") }

    func punch(_ number: Int64, keeping live: [PackExtent], dryRun: Bool) throws -> PackSpace {
        note(dryRun ? "measure" : "punch")
        return try packsHeld.withLock { table in
            guard var pack = table[number] else { throw UnderstudyError(.notFound, "pack \(number) is gone") }
            var punched: Int64 = 0
            var at: Int64 = 0
            for extent in live + [PackExtent(start: Int64(pack.bytes.count), end: Int64(pack.bytes.count))] {
                if extent.start > at {
                    let gap = Int(at)..<Int(extent.start)
                    if pack.bytes[gap].contains(where: { $0 != 0 }) { punched += Int64(gap.count) }
                    if !dryRun { pack.bytes.replaceSubrange(gap, with: repeatElement(0, count: gap.count)) }
                }
                at = max(at, extent.end)
            }
            if !dryRun {
                pack.punched += punched
                table[number] = pack
            }
            let minimum = live.reduce(0) { $0 + $1.end - $1.start }
            return PackSpace(punched: punched, allocated: Int64(pack.bytes.count) - pack.punched, minimum: minimum, unit: 1)
        }
    }

    func delete(_ numbers: [Int64]) throws {
        note("delete")
        packsHeld.withLock { table in for number in numbers { table[number] = nil } }
    }

    func name(of number: Int64) -> String { "memory:\(number)" }

    final class Output: PackOutput {
        let number: Int64
        let storage: MemoryPackStorage
        init(number: Int64, storage: MemoryPackStorage) {
            self.number = number
            self.storage = storage
        }

        func write(_ bytes: UnsafeRawBufferPointer, at offset: Int64) throws {
            storage.packsHeld.withLock { table in
                let end = Int(offset) + bytes.count
                if table[number]!.bytes.count < end { table[number]!.bytes += repeatElement(0, count: end - table[number]!.bytes.count) }
                table[number]!.bytes.replaceSubrange(Int(offset)..<end, with: bytes)
            }
        }

        func publish() throws { storage.packsHeld.withLock { $0[number]!.published = true } }
    }
}

@Suite("Pack storage protocol")
struct PackStorageTests {
    @Test func aStoreRunsOnASecondPackStorage() throws {
        let memory = MemoryPackStorage()
        let t = try TestStore(storage: { _ in memory })
        let disk = t.dir.file("disk.img")
        try Disks.make(disk, size: 4 << 20, seed: 61)
        let a = try t.capture("m", disk)
        let copyA = t.dir.file("a.img")
        try Disks.copy(disk, copyA)
        try Disks.mutate(disk, seed: 62, writes: 20)
        let b = try t.capture("m", disk)
        let copyB = t.dir.file("b.img")
        try Disks.copy(disk, copyB)

        #expect(t.packFiles.isEmpty, "a pack file was written beside the storage: \(t.packFiles)")
        #expect(try memory.packs().count >= 2)
        #expect(try t.store.verifyChunks().problems.isEmpty)
        for (point, copy) in [(a, copyA), (b, copyB)] {
            let out = t.dir.file("out-\(point.id!).img")
            _ = try t.restore(point, to: out)
            #expect(Disks.equal(out, copy), "point \(point.id!) did not come back bit-exact")
        }

        // Dead records are punched or their packs rewritten through the protocol, never by path.
        _ = try t.store.forget(machine: "m", point: a.id!)
        let before = t.chunkCount
        let report = try t.store.collectGarbage()
        #expect(report.removedChunks > 0 && t.chunkCount == before - report.removedChunks)
        #expect(report.punchedBytes > 0 || report.compactedPacks > 0)
        #expect(memory.calls.withLock { ($0["punch"] ?? 0) + ($0["delete"] ?? 0) } > 0)
        #expect(try t.store.verifyChunks().problems.isEmpty)
        let out = t.dir.file("after-gc.img")
        _ = try t.restore(b, to: out)
        #expect(Disks.equal(out, copyB))
        #expect(t.packFiles.isEmpty)
    }

    @Test func aPackTheStorageLostFailsTheRestoreAndPublishesNothing() throws {
        let memory = MemoryPackStorage()
        let t = try TestStore(storage: { _ in memory })
        let disk = t.dir.file("disk.img")
        try Disks.make(disk, size: 1 << 20, seed: 63)
        let point = try t.capture("m", disk)
        try memory.delete(Array(try memory.packs()))
        let out = t.dir.file("out.img")
        #expect {
            _ = try t.restore(point, to: out)
        } throws: { error in
            (error as? UnderstudyError)?.code == .notFound
        }
        #expect(!FileManager.default.fileExists(atPath: out), "a restore that failed left its target")
    }
}
