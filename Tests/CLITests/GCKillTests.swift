import Foundation
import Testing
import TestSupport

/// Allocated bytes (as `du` counts them) of every file under `folder`.
func allocatedBytes(under folder: String) -> Int64 {
    guard let walker = FileManager.default.enumerator(atPath: folder) else { return 0 }
    var total: Int64 = 0
    while let name = walker.nextObject() as? String {
        var st = stat()
        if lstat(folder + "/" + name, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG { total += Int64(st.st_blocks) * 512 }
    }
    return total
}

/// Issue #8, finding 2.6: kill -9 of gc at random instants leaves nothing a later gc cannot
/// reclaim: after a clean gc the store is the size of a fresh store holding the same points.
@Suite("Crash safety: kill -9 during gc")
struct GCKillTests {
    @Test func killedGCsLeaveNothingALaterGCCannotReclaim() throws {
        let dir = TempDir("gckill")
        let cli = CLI(store: dir.file("store"))
        let disk = dir.file("disk.img")
        var rng = SeededRandom(seed: 401)
        _ = FileManager.default.createFile(atPath: disk, contents: Data(Disks.randomBytes(24 << 20, using: &rng)))
        var kept: [(id: Int64, image: String)] = []
        func capture(_ round: Int) throws {
            try Disks.mutate(disk, seed: 500 + UInt64(round), writes: 120)
            let id = try cli.capture("m", disk)
            let copy = dir.file("p\(id).img")
            try Disks.copy(disk, copy)
            kept.append((id, copy))
        }
        for round in 0..<3 { try capture(round) }
        // How long a gc runs here, to spread the kills over it.
        let timed = Date()
        #expect(try cli.run(["gc", "--dry-run"]).status == 0)
        let span = max(Date().timeIntervalSince(timed), 0.05) * 1.5

        var interrupted = 0
        for round in 0..<15 {
            try capture(3 + round)
            let old = kept.removeFirst()
            #expect(try cli.run(["forget", "m", String(old.id)]).status == 0)
            unlink(old.image)
            let gc = cli.start(["gc"])
            Thread.sleep(forTimeInterval: span * Double(rng.next() % 1000) / 1000)
            gc.kill()
            if gc.process.terminationReason == .uncaughtSignal { interrupted += 1 }
        }
        #expect(interrupted >= 5, "only \(interrupted) of 15 gcs were still running when killed")

        let clean = try cli.run(["gc", "--json"])
        #expect(clean.status == 0, "\(clean.output)")
        let report = try #require(try JSONSerialization.jsonObject(with: Data(clean.stdout.utf8)) as? [String: Any])
        let packBytes = try #require(report["packBytes"] as? Int), minimum = try #require(report["minimumPackBytes"] as? Int)
        let verify = try cli.run(["verify", "--chunks"])
        #expect(verify.status == 0, "\(verify.output)")
        for (id, image) in kept {
            let out = dir.file("r\(id).img")
            #expect(try cli.run(["restore", "m", out, "--point", String(id)]).status == 0)
            #expect(Disks.equal(out, image), "point \(id) differs after killed gcs")
            unlink(out)
        }

        // A fresh store holding the same points, captured in the same order.
        let fresh = CLI(store: dir.file("fresh"))
        for (_, image) in kept { _ = try fresh.capture("m", image) }
        let killed = allocatedBytes(under: dir.file("store/packs")), wanted = allocatedBytes(under: dir.file("fresh/packs"))
        let killedTotal = allocatedBytes(under: dir.file("store")), wantedTotal = allocatedBytes(under: dir.file("fresh"))
        print("gc kill: \(interrupted) of 15 killed while running; packs \(killed) B (minimum for their live records \(minimum) B) vs fresh \(wanted) B (\(String(format: "%+.2f", 100 * (Double(killed) / Double(wanted) - 1))) %); store \(killedTotal) B vs fresh \(wantedTotal) B")
        // Nothing is left that a gc could still reclaim: the packs hold only the blocks their live
        // records touch (plus a little extent-tree metadata).
        #expect(Int64(packBytes) == killed)
        #expect(killed <= Int64(minimum) + 256 << 10, "packs hold \(killed) bytes, their live records touch \(minimum)")
        // The partial blocks at live/dead record edges, which punching cannot free, went with the
        // packs gc rewrote: the store is within 1 % of a fresh store holding the same points.
        #expect(Double(killed) <= Double(wanted) * 1.01, "packs hold \(killed) bytes, a fresh store's \(wanted)")
        #expect(Double(killedTotal) <= Double(wantedTotal) * 1.01, "store holds \(killedTotal) bytes, a fresh store \(wantedTotal)")
    }
}
