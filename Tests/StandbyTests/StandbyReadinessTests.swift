import Foundation
import Testing
import TestSupport

/// Failover and verify with the guest-agent and TCP-port probes, against the real libvirtd and
/// qemu (TCG). The port tests use isolated user-mode networking whose only way in is a forward on
/// 127.0.0.1: no traffic goes anywhere but the loopback.
@Suite("Standby: readiness by guest agent and TCP port with real libvirt", .serialized,
       .enabled(if: Fixtures.agentAvailable && Libvirtd.available,
                "needs qemu, qemu-guest-agent, the fixture tools and a running libvirtd (scripts/install-deps.sh; the tests start libvirtd)"))
struct StandbyReadinessTests {
    static func json(_ text: String) -> [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any] ?? [:]
    }

    @Test func agentStandbyFailsOverAndVerifies() throws {
        let h = try StandbyHarness("agent", marker: "with-agent", stay: true, agent: true)
        defer { h.removeDomain() }
        try h.set(["--ready-agent"])
        let build = try h.cli.run(["standby", "build", h.machine])
        try #require(build.status == 0, "\(build.output)")

        let failover = try h.cli.run(["failover", h.machine, "--timeout", "120", "--json"])
        #expect(failover.status == 0, "\(failover.output)")
        #expect((Self.json(failover.stdout)["secondsToReady"] as? Double ?? 0) > 0)
        #expect(h.console().contains("UNDERSTUDY-AGENT: /dev/vport"), "the agent never started: \(h.console())")
        // libvirt itself sees the agent: the channel is connected and it tells the guest's time
        #expect(shell("virsh -c qemu:///system dumpxml \(h.machine)").output.contains("state='connected'"))
        #expect(shell("virsh -c qemu:///system domtime \(h.machine)").status == 0)
        shell("virsh -c qemu:///system destroy \(h.machine)")

        let verify = try h.cli.run(["verify", h.machine, "--timeout", "120", "--json"])
        #expect(verify.status == 0, "\(verify.output)")
        #expect(Self.json(verify.stdout)["ok"] as? Bool == true)
        #expect(!shell("virsh -c qemu:///system list --name").output.contains("\(h.machine)-verify"))
    }

    @Test func aGuestWithoutTheAgentIsNotReady() throws {
        let h = try StandbyHarness("noagent", marker: "no-agent", stay: true)
        defer { h.removeDomain() }
        try h.set(["--ready-agent"])
        try #require(try h.cli.run(["standby", "build", h.machine]).status == 0)

        let started = Date()
        let failover = try h.cli.run(["failover", h.machine, "--timeout", "20"])
        #expect(failover.status == 1)
        #expect(failover.stderr.contains("not ready after 20 s: qemu-guest-agent did not answer"), "\(failover.stderr)")
        #expect(Date().timeIntervalSince(started) >= 20)
        // it did boot: only the agent is missing (and the domain is left running for diagnosis)
        #expect(h.console().contains("UNDERSTUDY-MARKER: no-agent"))
        #expect(shell("virsh -c qemu:///system domstate \(h.machine)").output.contains("running"))
        shell("virsh -c qemu:///system destroy \(h.machine)")

        let verify = try h.cli.run(["verify", h.machine, "--timeout", "20"])
        #expect(verify.status == 1)
        #expect(verify.stderr.contains("qemu-guest-agent did not answer"), "\(verify.stderr)")
    }

    @Test func portStandbyWaitsForItsServer() throws {
        let delay = 6
        let h = try StandbyHarness("port", marker: "port-server", stay: true, listen: (8080, delay))
        defer { h.removeDomain() }
        let hostPort = try Loopback.freePort()
        try h.set(["--network", "user", "--forward", "\(hostPort):8080", "--ready-port", String(hostPort), "--ready-host", "127.0.0.1"])
        try #require(try h.cli.run(["standby", "build", h.machine]).status == 0)

        let failover = try h.cli.run(["failover", h.machine, "--timeout", "120", "--json"])
        #expect(failover.status == 0, "\(failover.output)")
        let seconds = Self.json(failover.stdout)["secondsToReady"] as? Double ?? 0
        // the server listens only `delay` s after DHCP, which follows the boot
        #expect(seconds > Double(delay), "ready after \(seconds) s, before the guest's server can have listened")
        #expect(h.console().contains("UNDERSTUDY-NET: eth0 10.0.2.15"), "\(h.console())")
        #expect(h.console().contains("login:"))
        let http = shell("exec 3<>/dev/tcp/127.0.0.1/\(hostPort) && printf 'GET / HTTP/1.0\\r\\n\\r\\n' >&3 && timeout 5 cat <&3")
        #expect(http.output.contains("understudy"), "the forward does not reach the guest's server: \(http.output)")
        shell("virsh -c qemu:///system destroy \(h.machine)")

        // verify: a copy with its own loopback port, found through the forward of guest port 8080
        try h.set(["--ready-port", "8080", "--ready-host", "none"])
        let verify = try h.cli.run(["verify", h.machine, "--timeout", "120", "--json"])
        #expect(verify.status == 0, "\(verify.output)")
        #expect(Self.json(verify.stdout)["ok"] as? Bool == true)

        // a port nothing listens on: the clear message, after the timeout
        let unused = try Loopback.freePort()
        try h.set(["--ready-port", String(unused), "--ready-host", "127.0.0.1"])
        let refused = try h.cli.run(["failover", h.machine, "--timeout", "20"])
        #expect(refused.status == 1)
        #expect(refused.stderr.contains("not ready after 20 s: 127.0.0.1:\(unused) did not answer"), "\(refused.stderr)")
    }

    @Test func verifyRefusesAPortItCannotReachOnTheCopy() throws {
        let h = try StandbyHarness("verifyport", marker: "unreachable")
        defer { h.removeDomain() }
        // --ready-host names production: verify must not probe it in place of the copy
        try h.set(["--ready-port", "22", "--ready-host", "127.0.0.1"])
        try #require(try h.cli.run(["standby", "build", h.machine]).status == 0)
        let alert = h.dir.file("alert.txt")
        let verify = try h.cli.run(["verify", h.machine, "--timeout", "60", "--on-failure", "echo \"$UNDERSTUDY_REASON\" > \(alert)"])
        #expect(verify.status == 1)
        #expect(verify.stderr.contains("verify cannot reach TCP port 22 of its disposable copy"), "\(verify.stderr)")
        #expect(((try? String(contentsOfFile: alert, encoding: .utf8)) ?? "").contains("verify cannot reach TCP port 22"))
        #expect(!shell("virsh -c qemu:///system list --name").output.contains("\(h.machine)-verify"))
    }
}
