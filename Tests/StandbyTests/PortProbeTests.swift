import BlockStore
import Foundation
import Standby
import Testing
import TestSupport
import Core

/// The TCP-port probe against listeners on 127.0.0.1, and where it connects for each profile.
/// Synchronous on purpose: these tests block on real time.
@Suite("Standby: readiness by TCP port (loopback listeners)", .serialized)
struct PortProbeTests {
    func probe(_ port: Int, timeout: Double) -> ReadinessProbe {
        ReadinessProbe(readiness: .port(port), serialLog: "/nonexistent/serial.log",
                       portTarget: .host("127.0.0.1", port: port), timeout: timeout)
    }

    @Test func waitsForAListenerThatStartsLate() throws {
        let port = try Loopback.freePort()
        let opened = Date()
        let listening = Locked<Loopback.Listener?>(nil)
        let thread = Thread {
            Thread.sleep(forTimeInterval: 1.5)
            listening.set(try? Loopback.bind(port: port))
        }
        thread.start()
        defer { listening.get()?.close() }
        let seconds = try probe(port, timeout: 30).wait { true }
        #expect(listening.get() != nil, "the test's listener never bound \(port)")
        #expect(seconds >= 1.4, "ready after \(seconds) s, before anything listened")
        #expect(Date().timeIntervalSince(opened) < 10)
    }

    @Test func aPortNothingListensOnTimesOutWithTheEndpoint() throws {
        let port = try Loopback.freePort()
        let started = Date()
        do {
            _ = try probe(port, timeout: 2).wait { true }
            Issue.record("ready although nothing listens on \(port)")
        } catch let error as UnderstudyError {
            #expect(error.message.hasPrefix("not ready after 2 s: 127.0.0.1:\(port) did not answer"), "\(error.message)")
            #expect(error.message.contains("refused"), "\(error.message)")
        }
        #expect(Date().timeIntervalSince(started) >= 2)
    }

    @Test func aBoundSocketThatNeverListensIsNotReady() throws {
        let bound = try Loopback.bind(listen: false)
        defer { bound.close() }
        #expect(throws: UnderstudyError.self) { _ = try probe(bound.port, timeout: 1).wait { true } }
    }

    @Test func aStoppedGuestEndsTheWaitAtOnce() throws {
        let port = try Loopback.freePort()
        let started = Date()
        do {
            _ = try probe(port, timeout: 60).wait { false }
            Issue.record("ready although nothing listens")
        } catch let error as UnderstudyError {
            #expect(error.message.contains("stopped before 127.0.0.1:\(port) answered"), "\(error.message)")
        }
        #expect(Date().timeIntervalSince(started) < 10)
    }

    @Test func targetFollowsTheProfile() throws {
        var p = HardwareProfile()
        p.readiness = .port(8080)
        #expect(try PortTarget.resolve(p) == .guestAddress(port: 8080))
        p.network = "default"
        #expect(throws: UnderstudyError.self, "verify's copy is on an isolated network the host cannot reach") {
            try PortTarget.resolve(p, forVerify: true)
        }
        p.network = HardwareProfile.userNetwork
        #expect(throws: UnderstudyError.self) { try PortTarget.resolve(p) }
        #expect((try? p.validate()) == nil, "a user-mode port probe without a forward must not validate")
        p.forwards = [.init(hostPort: 18080, guestPort: 8080)]
        #expect(try PortTarget.resolve(p) == .forward(hostPort: 18080, guestPort: 8080))
        p.readyHost = "web1.example.org"
        #expect(try PortTarget.resolve(p) == .host("web1.example.org", port: 8080))
        // verify boots a copy: production's name would test production
        #expect(try PortTarget.resolve(p, forVerify: true) == .forward(hostPort: 18080, guestPort: 8080))
        // the loopback and a forward's host port: that forward
        p.readyHost = "127.0.0.1"
        p.readiness = .port(18080)
        #expect(try PortTarget.resolve(p) == .forward(hostPort: 18080, guestPort: 8080))
        p.readiness = .port(18081)
        #expect(try PortTarget.resolve(p) == .host("127.0.0.1", port: 18081))
        p.readiness = .agent
        #expect(try PortTarget.resolve(p) == nil)
    }

    @Test func forwardsParseAndValidate() throws {
        #expect(HardwareProfile.PortForward("18080:80") == .init(hostPort: 18080, guestPort: 80))
        #expect(HardwareProfile.PortForward("22") == .init(hostPort: 22, guestPort: 22))
        #expect(HardwareProfile.PortForward("a:80") == nil)
        #expect(HardwareProfile.PortForward("1:2:3") == nil)
        var p = HardwareProfile()
        p.forwards = [.init(hostPort: 18080, guestPort: 80)]
        #expect((try? p.validate()) == nil, "forwards without user-mode networking must not validate")
        p.network = HardwareProfile.userNetwork
        #expect((try? p.validate()) != nil)
        p.forwards.append(.init(hostPort: 18080, guestPort: 81))
        #expect((try? p.validate()) == nil, "one host port forwarded twice must not validate")
    }

    @Test func profilesSavedBeforeTheNewFieldsStillLoad() throws {
        let old = #"{"cpus":1,"memoryMiB":256,"firmware":"bios","diskBus":"virtio","nicModel":"virtio","format":"qcow2","readiness":{"port":{"_0":22}},"accel":"auto"}"#
        let p = try JSONDecoder().decode(HardwareProfile.self, from: Data(old.utf8))
        #expect(p.readiness == .port(22) && p.cpus == 1 && p.forwards.isEmpty && p.readyHost == nil)
    }

    @Test func machineSetExplainsBadReadinessOptions() throws {
        let dir = TempDir("readyopts")
        let cli = CLI(store: dir.file("store"))
        let disk = dir.file("d.img")
        try Data(repeating: 1, count: 1 << 20).write(to: URL(fileURLWithPath: disk))
        _ = try cli.capture("m1", disk)
        let noUser = try cli.run(["machine", "set", "m1", "--forward", "18080:80"])
        #expect(noUser.status == 2 && noUser.stderr.contains("--forward needs --network user"), "\(noUser.output)")
        let bad = try cli.run(["machine", "set", "m1", "--network", "user", "--forward", "80-90"])
        #expect(bad.status == 2 && bad.stderr.contains("not HOSTPORT:GUESTPORT"), "\(bad.output)")
        let noForward = try cli.run(["machine", "set", "m1", "--network", "user", "--ready-port", "80"])
        #expect(noForward.status == 2 && noForward.stderr.contains("add --forward HOSTPORT:80"), "\(noForward.output)")
        let ok = try cli.run(["machine", "set", "m1", "--network", "user", "--forward", "18080:80", "--ready-port", "80"])
        #expect(ok.status == 0, "\(ok.output)")
        let show = try cli.run(["machine", "show", "m1"])
        #expect(show.stdout.contains("127.0.0.1:18080 → guest port 80") && show.stdout.contains("TCP port 80"), "\(show.stdout)")
        let host = try cli.run(["machine", "set", "m1", "--ready-host", "web1.example.org"])
        let shown = try cli.run(["machine", "show", "m1"])
        #expect(host.status == 0 && shown.stdout.contains("TCP port 80 on web1.example.org"), "\(host.output) \(shown.stdout)")
    }
}
