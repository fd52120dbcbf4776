import BlockStore
import Foundation
import Testing
import TestSupport

/// The standby flow end to end with the real libvirtd and qemu (TCG), through the CLI.
@Suite("Standby: build, failover, verify with real libvirt", .serialized,
       .enabled(if: Fixtures.available && Libvirtd.available, "needs qemu, the fixture tools and a running libvirtd (scripts/install-deps.sh; the tests start libvirtd)"))
struct StandbyFlowTests {
    @Test func buildFailoverUpdateAndFailoverAgain() throws {
        let h = try StandbyHarness("flow", marker: "point-A", stay: true)
        let (cli, machine, disk) = (h.cli, h.machine, h.disk)
        defer { h.removeDomain() }

        let build = try cli.run(["standby", "build", machine])
        #expect(build.status == 0, "\(build.output)")
        #expect(shell("virsh -c qemu:///system domstate \(machine)").output.contains("shut off"))
        let show = try cli.run(["standby", "show", machine])
        #expect(show.stdout.contains("serial log: ") && show.stdout.contains("point: 1"))

        var failover = try cli.run(["failover", machine, "--timeout", "120", "--json"])
        #expect(failover.status == 0, "\(failover.output)")
        #expect(failover.stdout.contains("secondsToReady"))
        #expect(h.console().contains("UNDERSTUDY-MARKER: point-A"))

        // While it runs, a nightly build must not touch it.
        let refused = try cli.run(["standby", "build", machine])
        #expect(refused.status == 1 && refused.stderr.contains("is running"))
        shell("virsh -c qemu:///system destroy \(machine)")

        try Fixtures.changeMarker(of: disk, to: "point-C")
        _ = try cli.capture(machine, disk)
        let update = try cli.run(["standby", "build", machine, "--json"])
        #expect(update.status == 0, "\(update.output)")
        #expect(update.stdout.contains("\"mode\" : \"update\""), "the nightly build was not incremental: \(update.stdout)")
        failover = try cli.run(["failover", machine, "--timeout", "120"])
        #expect(failover.status == 0, "\(failover.output)")
        #expect(failover.stdout.contains("ready in"))
        #expect(h.console().contains("UNDERSTUDY-MARKER: point-C"))
        let list = try cli.run(["standby", "list"])
        #expect(list.stdout.contains(machine) && list.stdout.contains("running"))
    }

    @Test func verifyBootsADisposableCopyAndAlertsOnFailure() throws {
        let h = try StandbyHarness("verify", marker: "verified", stay: true)
        let (dir, cli, machine, disk) = (h.dir, h.cli, h.machine, h.disk)
        defer { h.removeDomain() }
        #expect(try cli.run(["standby", "build", machine]).status == 0)

        let verify = try cli.run(["verify", machine, "--timeout", "120", "--json"])
        #expect(verify.status == 0, "\(verify.output)")
        let record = try JSONSerialization.jsonObject(with: Data(verify.stdout.utf8)) as? [String: Any]
        #expect(record?["ok"] as? Bool == true)
        #expect((record?["secondsToReady"] as? Double ?? 0) > 0)
        let png = try #require(record?["screenshot"] as? String)
        let bytes = try #require(FileManager.default.contents(atPath: png))
        #expect(bytes.starts(with: [0x89, 0x50, 0x4E, 0x47]))
        #expect(!shell("virsh -c qemu:///system list --name").output.contains("\(machine)-verify"))
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: dir.file("store/standby/\(machine)")).filter { $0.hasPrefix("verify-") }
        #expect(leftovers.isEmpty, "verify left \(leftovers)")
        #expect(shell("virsh -c qemu:///system domstate \(machine)").output.contains("shut off"))

        // Break the boot sector of a new point: verify fails, the alert runs with the reason.
        let file = try FileHandle(forWritingTo: URL(fileURLWithPath: disk))
        file.write(Data(repeating: 0, count: 512))
        try file.close()
        _ = try cli.capture(machine, disk)
        #expect(try cli.run(["standby", "build", machine]).status == 0)
        let alert = dir.file("alert.txt")
        let failed = try cli.run(["verify", machine, "--timeout", "40", "--on-failure", "echo \"$UNDERSTUDY_MACHINE $UNDERSTUDY_POINT $UNDERSTUDY_REASON\" > \(alert)"])
        #expect(failed.status == 1)
        let text = (try? String(contentsOfFile: alert, encoding: .utf8)) ?? ""
        #expect(text.hasPrefix("\(machine) 2 "), "alert got: \(text)")
        #expect(!shell("virsh -c qemu:///system list --name").output.contains("\(machine)-verify"))
    }
}
