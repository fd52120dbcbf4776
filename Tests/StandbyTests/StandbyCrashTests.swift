import Foundation
import Testing
import TestSupport

@Suite("Standby: crash during a build, and failback from a running standby", .serialized,
       .enabled(if: Fixtures.available && Libvirtd.available, "needs qemu, the fixture tools and a running libvirtd"))
struct StandbyCrashTests {
    /// The server gains 24 MiB of new data and a new marker, so the nightly update has real work
    /// for the kill to interrupt.
    static func changeServer(_ disk: String, marker: String, dir: TempDir) throws {
        try Fixtures.changeMarker(of: disk, to: marker)
        try Fixtures.editDataPartition(of: disk, """
            head -c 25165824 /dev/urandom > "$W/blob"
            debugfs -w -R "write $W/blob blob.bin" "$P2" >/dev/null 2>&1
            """)
    }

    @Test func killedBuildLeavesABootableStandby() throws {
        let h = try StandbyHarness("crash", marker: "old-A", sizeMiB: 96)
        let (dir, cli, machine, disk, a) = (h.dir, h.cli, h.machine, h.disk, h.firstPoint)
        defer { h.removeDomain() }
        #expect(try cli.run(["standby", "build", machine]).status == 0)
        try Self.changeServer(disk, marker: "new-B", dir: dir)
        let b = try cli.capture(machine, disk)
        var rng = SeededRandom(seed: 601)
        var interrupted = 0
        for round in 0..<3 {
            let build = cli.start(["standby", "build", machine])
            Thread.sleep(forTimeInterval: 0.05 + Double(rng.next() % 400) / 1000)
            build.kill()
            let failover = try cli.run(["failover", machine, "--timeout", "120", "--json"])
            #expect(failover.status == 0, "round \(round): \(failover.output)")
            if failover.stderr.contains("interrupted update") { interrupted += 1 }
            let record = try JSONSerialization.jsonObject(with: Data(failover.stdout.utf8)) as? [String: Any]
            let point = (record?["point"] as? Int).map(Int64.init)
            let console = h.console()
            let expected = point == b ? "new-B" : "old-A"
            #expect(point == a || point == b)
            #expect(console.contains("UNDERSTUDY-MARKER: \(expected)"), "round \(round): standby at point \(point ?? -1) printed: \(console.suffix(300))")
            shell("virsh -c qemu:///system destroy \(machine)")
            // Back to A for the next round.
            #expect(try cli.run(["standby", "build", machine, "--point", String(a), "--discard-changes"]).status == 0)
        }
        print("killed standby builds: \(interrupted) of 3 interrupted mid-update")
    }

    @Test func captureOfARunningStandbyBecomesAPoint() throws {
        let h = try StandbyHarness("back", marker: "served", stay: true)
        let (dir, cli, machine, disk) = (h.dir, h.cli, h.machine, h.disk)
        defer { h.removeDomain() }
        #expect(try cli.run(["standby", "build", machine]).status == 0)
        #expect(try cli.run(["failover", machine, "--timeout", "120"]).status == 0)
        defer { shell("virsh -c qemu:///system destroy \(machine)") }
        // The standby runs (it is production now): capture it without stopping it.
        let back = try cli.run(["capture", machine, "libvirt:\(machine)", "--json"])
        #expect(back.status == 0, "\(back.output)")
        #expect(shell("virsh -c qemu:///system domstate \(machine)").output.contains("running"))
        let point = try #require((try JSONSerialization.jsonObject(with: Data(back.stdout.utf8)) as? [String: Any])?["id"] as? Int)
        #expect(try cli.run(["restore", machine, dir.file("back.raw"), "--point", String(point)]).status == 0)
        #expect(shell("cmp '\(dir.file("back.raw"))' '\(disk)'").status == 0, "the failback point differs from the disk the guest runs on")
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.file("store/tmp")).isEmpty)
    }
}
