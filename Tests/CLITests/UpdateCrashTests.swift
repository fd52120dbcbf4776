import Foundation
import Testing
import TestSupport

@Suite("Crash safety: kill -9 during an image update")
struct UpdateCrashTests {
    /// After any kill, recovery leaves exactly point A or exactly point B, and the image's record
    /// names the point it holds.
    @Test(arguments: ["raw", "qcow2", "vmdk", "vhd", "vhdx"])
    func killedUpdatesLeaveAOrB(_ format: String) throws {
        let dir = TempDir("ucrash")
        let cli = CLI(store: dir.file("store"))
        let disk = dir.file("disk.img")
        try Disks.make(disk, size: 48 << 20, seed: 301, regions: 150)
        let a = try cli.capture("m", disk)
        try Disks.mutate(disk, seed: 302, writes: 1500)
        let b = try cli.capture("m", disk)
        for (p, name) in [(a, "a.raw"), (b, "b.raw")] {
            #expect(try cli.run(["restore", "m", dir.file(name), "--point", String(p)]).status == 0)
        }
        let image = dir.file("standby.\(format)")
        var rng = SeededRandom(seed: 303)
        var outcomes: [Int64: Int] = [:]
        var interrupted = 0
        for round in 0..<12 {
            // Start from A each round: rebuild (or roll back to) A first.
            let reset = try cli.run(["restore", "m", image, "--format", format, "--point", String(a)] + (round == 0 ? [] : ["--force-full"]))
            #expect(reset.status == 0, "\(reset.output)")
            let running = cli.start(["restore", "m", image, "--point", String(b)])
            if round % 2 == 0 {
                // Half the rounds kill once the update has begun (its journal exists), so that
                // a slow start on a busy machine cannot make every kill land before it.
                let until = Date().addingTimeInterval(10)
                while !FileManager.default.fileExists(atPath: image + ".understudy-journal"), Date() < until {
                    Thread.sleep(forTimeInterval: 0.002)
                }
                Thread.sleep(forTimeInterval: Double(rng.next() % 10) / 1000)
            } else {
                Thread.sleep(forTimeInterval: Double(rng.next() % 250) / 1000)
            }
            running.kill()
            let check = try cli.run(["image", "check", image])
            #expect(check.status == 0, "after kill: \(check.output)")
            if check.stderr.contains("interrupted update") { interrupted += 1 }
            let info = try cli.run(["image", "info", image, "--json"])
            let record = try JSONSerialization.jsonObject(with: Data(info.stdout.utf8)) as? [String: Any]
            let held = ((record?["record"] as? [String: Any])?["point"] as? Int).map(Int64.init)
            let expected = held == b ? "b.raw" : "a.raw"
            let (same, why) = QemuImg.same(image, format: format, as: dir.file(expected))
            #expect(same, "round \(round): record says point \(held ?? -1) but content differs: \(why)")
            #expect(held == a || held == b)
            #expect(!FileManager.default.fileExists(atPath: image + ".understudy-journal"))
            outcomes[held ?? -1, default: 0] += 1
        }
        // The update itself still works after all that, and is incremental.
        let final = try cli.run(["restore", "m", image, "--point", String(b), "--json"])
        #expect(final.status == 0)
        #expect(QemuImg.same(image, format: format, as: dir.file("b.raw")).0)
        print("\(format): kills left A \(outcomes[a] ?? 0) times, B \(outcomes[b] ?? 0) times; \(interrupted) mid-update")
        #expect(interrupted > 0, "no kill landed during an update: the test proves nothing")
    }
}
