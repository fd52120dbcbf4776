import BlockStore
import Foundation
import Testing
import TestSupport

@Suite("Round trip: every point restores bit-exact")
struct RoundTripTests {
    /// Disk sizes that are not multiples of the block size, and one big enough for a two-level index.
    @Test(arguments: [
        (1_000_003, 64 << 10, UInt64(1)),
        (3 << 20 + 17, 1 << 20, UInt64(2)),
        (5 * 65536, 64 << 10, UInt64(3)),
        (70 << 20 + 4095, 64 << 10, UInt64(4)),
        (9 << 20 + 1, 4 << 20, UInt64(5)),
    ])
    func randomSparseDisksOverSeveralPoints(size: Int, blockSize: Int, seed: UInt64) throws {
        let t = try TestStore()
        let disk = t.dir.file("disk.img")
        try Disks.make(disk, size: size, seed: seed)
        var points: [(RecoveryPoint, String)] = []
        for round in 0..<4 {
            if round > 0 { try Disks.mutate(disk, seed: seed * 100 + UInt64(round), writes: 12) }
            let copy = t.dir.file("disk-\(round).img")
            try Disks.copy(disk, copy)
            let point = try t.capture("m", disk, blockSize: blockSize)
            #expect(point.diskSize == Int64(size))
            #expect(point.blockCount == (size + blockSize - 1) / blockSize)
            points.append((point, copy))
        }
        for (point, original) in points {
            let out = t.dir.file("restored-\(point.id!).img")
            let report = try t.restore(point, to: out)
            #expect(report.badBlocks.isEmpty)
            #expect(Disks.equal(out, original), "point \(point.id!) does not restore bit-exact")
        }
        #expect(try t.store.verifyChunks().problems.isEmpty)
    }

    @Test func restoreLeavesZeroBlocksAsHoles() throws {
        let t = try TestStore()
        let disk = t.dir.file("disk.img")
        _ = FileManager.default.createFile(atPath: disk, contents: nil)
        let h = try FileHandle(forWritingTo: URL(fileURLWithPath: disk))
        try h.truncate(atOffset: 64 << 20)
        try h.seek(toOffset: 1 << 20)
        h.write(Data(repeating: 7, count: 65536))
        try h.close()
        let point = try t.capture("m", disk)
        let out = t.dir.file("out.img")
        _ = try t.restore(point, to: out)
        var st = stat()
        stat(out, &st)
        #expect(st.st_size == 64 << 20)
        #expect(st.st_blocks * 512 < 1 << 20, "restored file is not sparse: \(st.st_blocks * 512) bytes allocated")
        #expect(Disks.equal(out, disk))
    }
}
