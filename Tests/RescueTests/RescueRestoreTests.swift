import BlockStore
import Foundation
import Testing
import TestSupport

/// `understudy serve --listen` and `understudy-rescue` against each other on loopback.
@Suite("Rescue: restore over the network", .serialized)
struct RescueRestoreTests {
    @Test("restores bit-exact, sends each distinct chunk once and compressed, never zero blocks")
    func restoresExactly() throws {
        let h = RescueHarness()
        let point = try h.capture(size: 40 * 1048576 + 12345, seed: 501)
        try h.makeToken()
        try h.startServer()
        let target = h.dir.file("target.img")
        let r = h.rescue(["--machine", "m", "--point", String(point), "--target", target, "--verify", "--json", "--progress-interval", "0.05"])
        #expect(r.status == 0, "\(r.output)")
        // Progress as lines when not on a terminal (a serial console): written, received, reduction, rate, ETA.
        let progress = r.stderr.split(separator: "\n").filter { $0.hasPrefix("restored ") && $0.contains("ETA") }
        #expect(!progress.isEmpty && progress.allSatisfy { $0.contains("received") && $0.contains("reduction") && $0.contains("/s") }, "\(r.stderr)")
        #expect(Disks.equal(target, try h.localRestore()), "the restored disk differs from a local restore")
        #expect(r.stderr.contains("verified: every block"))
        let report = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        let received = try #require(report["receivedBytes"] as? Int), stored = try #require(report["storedBytes"] as? Int)
        let chunks = try #require(report["chunks"] as? Int)
        // Wire bytes: the stored frames, each once, plus the block map and 40 bytes a record.
        let store = try Store(path: h.dir.file("store"), create: false)
        let p = try #require(try store.catalog.point(point))
        let mapBytes = 56 + chunks * 36 + p.blockCount * 4
        #expect(Double(received) <= 1.02 * Double(stored + mapBytes), "received \(received) for \(stored) stored + \(mapBytes) map")
        #expect(received < Int(p.diskSize) / 2, "zero blocks or plaintext went over the wire")
        #expect(chunks <= p.stats.dataBlocks)
        // A file target is sparse where the disk had zero blocks.
        var info = stat()
        stat(target, &info)
        #expect(Int(info.st_blocks) * 512 < Int(p.diskSize))
    }

    @Test("killed half-way, the same command continues where it stopped and ends bit-exact")
    func resumesAfterKill() throws {
        let h = RescueHarness()
        // Incompressible data: enough chunks that a kill lands in the middle.
        try h.capture(size: 96 * 1048576 + 4096, seed: 502, regions: 400)
        try h.makeToken()
        try h.startServer()
        let target = h.dir.file("target.img")
        let journal = target + ".rescue-journal"
        let process = Process()
        process.executableURL = URL(fileURLWithPath: RescueHarness.rescueBinary)
        process.arguments = ["--server", h.url, "--token", h.token, "--machine", "m", "--target", target, "--in-flight", "1", "--checkpoint-mib", "8"]
        process.standardError = FileHandle.nullDevice
        try process.run()
        // Wait until the journal records finished chunks, then kill without warning.
        let deadline = Date().addingTimeInterval(120)
        var killedMidway = false
        while Date() < deadline && process.isRunning {
            if let data = FileManager.default.contents(atPath: journal),
               let json = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
               let done = (json["done"] as? String).flatMap({ Data(base64Encoded: $0) }),
               done.contains(where: { $0 != 0 }) {
                kill(process.processIdentifier, SIGKILL)
                killedMidway = true
                break
            }
            Thread.sleep(forTimeInterval: 0.02)
        }
        process.waitUntilExit()
        try #require(killedMidway, "the restore finished before a checkpoint; the test proves nothing")
        let again = h.rescue(["--machine", "m", "--target", target, "--json"])
        #expect(again.status == 0, "\(again.output)")
        #expect(again.stderr.contains("continuing an interrupted restore"))
        let report = try #require(try JSONSerialization.jsonObject(with: Data(again.stdout.utf8)) as? [String: Any])
        #expect((report["resumed"] as? Bool) == true)
        #expect((report["chunksThisRun"] as? Int ?? 0) < (report["chunks"] as? Int ?? 0))
        #expect(Disks.equal(target, try h.localRestore()))
        #expect(!FileManager.default.fileExists(atPath: journal), "the journal goes once the restore is complete")
    }

    @Test("a server gone mid-restore: retries, then says run again; the rerun against a new server continues")
    func survivesServerLoss() throws {
        let h = RescueHarness()
        try h.capture(size: 64 * 1048576, seed: 503, regions: 300)
        try h.makeToken()
        try h.startServer()
        let target = h.dir.file("target.img")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: RescueHarness.rescueBinary)
        process.arguments = ["--server", h.url, "--token", h.token, "--machine", "m", "--target", target, "--in-flight", "1", "--checkpoint-mib", "8"]
        let err = Pipe()
        process.standardError = err
        try process.run()
        let journal = target + ".rescue-journal"
        let deadline = Date().addingTimeInterval(120)
        while Date() < deadline && process.isRunning {
            if let data = FileManager.default.contents(atPath: journal), data.count > 0,
               let json = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
               let done = (json["done"] as? String).flatMap({ Data(base64Encoded: $0) }), done.contains(where: { $0 != 0 }) {
                break
            }
            Thread.sleep(forTimeInterval: 0.02)
        }
        h.stopServer()
        let stderr = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        guard process.terminationStatus != 0 else {
            Issue.record("the restore finished before the server went away; the test proves nothing")
            return
        }
        #expect(stderr.contains("retrying"), "\(stderr)")
        #expect(stderr.contains("run the same command again"), "\(stderr)")
        try h.startServer()
        let again = h.rescue(["--machine", "m", "--target", target])
        #expect(again.status == 0, "\(again.output)")
        #expect(again.stderr.contains("continuing"))
        #expect(Disks.equal(target, try h.localRestore()))
    }
}
