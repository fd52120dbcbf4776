import Foundation
import Testing
import TestSupport

@Suite("Crash safety: kill -9 during capture")
struct CrashTests {
    @Test func killedCapturesLeaveAValidStore() throws {
        let dir = TempDir("crash")
        let cli = CLI(store: dir.file("store"))
        let disk = dir.file("disk.img")
        try Disks.make(disk, size: 40 << 20, seed: 61, regions: 200)
        var copies: [Int64: String] = [:]
        let first = try cli.capture("m", disk, ["--level", "9"])
        copies[first] = dir.file("p\(first).img")
        try Disks.copy(disk, copies[first]!)

        var rng = SeededRandom(seed: 62)
        var killed = 0
        for round in 0..<22 {
            try Disks.mutate(disk, seed: 1000 + UInt64(round), writes: 40)
            let snapshot = dir.file("round\(round).img")
            try Disks.copy(disk, snapshot)
            let before = try pointIDs(cli)
            let running = cli.start(["capture", "m", disk, "--level", "9"])
            Thread.sleep(forTimeInterval: Double(rng.next() % 1200) / 1000)
            running.kill()
            killed += 1
            // The capture may have committed just before the kill: then its point must hold `snapshot`.
            for id in try pointIDs(cli) where !before.contains(id) { copies[id] = snapshot }
        }
        #expect(killed >= 20)

        let verify = try cli.run(["verify", "--chunks"])
        #expect(verify.status == 0, "store does not verify after kills: \(verify.output)")
        for (id, original) in copies {
            let out = dir.file("restored-\(id).img")
            let r = try cli.run(["restore", "m", out, "--point", String(id)])
            #expect(r.status == 0, "\(r.output)")
            #expect(Disks.equal(out, original), "point \(id) differs after crashes")
        }
        let next = try cli.capture("m", disk)
        let out = dir.file("final.img")
        #expect(try cli.run(["restore", "m", out, "--point", String(next)]).status == 0)
        #expect(Disks.equal(out, disk))
        // gc removes what the killed captures left, and the store stays sound.
        #expect(try cli.run(["gc"]).status == 0)
        #expect(try cli.run(["verify", "--chunks"]).status == 0)
    }

    func pointIDs(_ cli: CLI) throws -> Set<Int64> {
        let r = try cli.run(["points", "m", "--json"])
        let list = try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [[String: Any]] ?? []
        return Set(list.compactMap { ($0["id"] as? Int).map(Int64.init) })
    }
}

@Suite("Concurrency: capture, restore and gc at once")
struct ConcurrencyTests {
    @Test func captureOfAWhileRestoringBAndCollecting() throws {
        let dir = TempDir("conc")
        let cli = CLI(store: dir.file("store"))
        let a = dir.file("a.img"), b = dir.file("b.img")
        try Disks.make(a, size: 48 << 20, seed: 71, regions: 200)
        try Disks.make(b, size: 24 << 20, seed: 72, regions: 100)
        _ = try cli.capture("b", b)
        // Forget an old point of A so gc has real work while the new capture of A reuses its chunks.
        let old = try cli.capture("a", a)
        #expect(try cli.run(["forget", "a", String(old)]).status == 0)

        let capture = cli.start(["capture", "a", a, "--json"])
        var restores: [CLI.Running] = []
        for i in 0..<3 { restores.append(cli.start(["restore", "b", dir.file("b\(i).img")])) }
        for _ in 0..<3 { #expect(try cli.run(["gc"]).status == 0) }
        let out = capture.stdout.fileHandleForReading.readDataToEndOfFile()
        capture.process.waitUntilExit()
        #expect(capture.process.terminationStatus == 0, "\(String(decoding: capture.stderr.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self))")
        for r in restores { r.process.waitUntilExit(); #expect(r.process.terminationStatus == 0) }
        for i in 0..<3 { #expect(Disks.equal(dir.file("b\(i).img"), b)) }
        #expect(try cli.run(["gc"]).status == 0)
        #expect(try cli.run(["verify", "--chunks"]).status == 0)
        let point = try #require(try JSONSerialization.jsonObject(with: out) as? [String: Any])["id"] as? Int
        #expect(try cli.run(["restore", "a", dir.file("a.out"), "--point", String(try #require(point))]).status == 0)
        #expect(Disks.equal(dir.file("a.out"), a))
    }
}
