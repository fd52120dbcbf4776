import Foundation
import Testing
import TestSupport

@Suite("serve: the scheduler runs a real standby build at its cron time",
       .enabled(if: Fixtures.available && Libvirtd.available, "needs qemu, the fixture tools and a running libvirtd"))
struct ServeTests {
    @Test func everyMinuteBuildFiresOnceWithinAMinute() throws {
        let h = try StandbyHarness("serve", marker: "scheduled")
        defer { h.removeDomain() }
        let set = try h.cli.run(["schedule", "set", h.machine, "--build", "* * * * *"])
        #expect(set.status == 0, "\(set.output)")
        // The next minute boundary is at most 60 s away; 75 s leaves room for the build itself.
        let serve = try h.cli.run(["serve", "--duration", "75"])
        #expect(serve.status == 0, "\(serve.output)")
        let list = try h.cli.run(["schedule", "list", "--json"])
        let planned = try JSONSerialization.jsonObject(with: Data(list.stdout.utf8)) as? [[String: Any]] ?? []
        let run = planned.first.flatMap { $0["lastRun"] as? [String: Any] }
        #expect(run?["outcome"] as? String == "succeeded", "\(list.stdout)")
        let show = try h.cli.run(["standby", "show", h.machine])
        #expect(show.status == 0 && show.stdout.contains("point: 1"), "\(show.output)")
        #expect(shell("virsh -c qemu:///system domstate \(h.machine)").output.contains("shut off"))
    }
}
