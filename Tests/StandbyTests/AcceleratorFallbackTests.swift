import Core
import BlockStore
import Foundation
import Libvirt
import Standby
import Testing
import TestSupport

/// The safety net under the accelerator probe, against the real libvirtd and qemu: a guest that
/// qemu stops by itself (what KVM's "emulation failure" does; here a monitor `stop` stands in for
/// it, or the host's own KVM does it first) is noticed at once; under an automatically chosen KVM
/// it is restarted under TCG and the host's verdict turns to TCG; a forced choice is reported.
/// The guest under "KVM" is stopped by this test whatever the host's KVM does, so the outcome is
/// the same on every kind of host.
@Suite("Standby: KVM failure falls back to TCG with real libvirt", .serialized,
       .enabled(if: Fixtures.available && Libvirtd.available,
                "needs qemu, the fixture tools and a running libvirtd (scripts/install-deps.sh; the tests start libvirtd)"))
struct AcceleratorFallbackTests {
    static func json(_ text: String) -> [String: Any] {
        (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any] ?? [:]
    }

    /// Stores a verdict that says KVM, as if the probe had chosen it: the saboteur then stops the
    /// KVM guest whatever this host's KVM would have done, so no outcome depends on the host.
    static func storeVerdictKVM(_ h: StandbyHarness) throws {
        let probe = Accelerator.Probe(accelerator: .kvm, reason: "test: the probe said KVM", kvmTrial: .milliseconds(50),
                                      stagesReached: Accelerator.probeStages)
        try HostVerdict(host: .current(), probe: probe).save(store: h.dir.file("store"))
    }

    /// libvirt defines a KVM domain only where /dev/kvm exists (working, hanging or paravirtual
    /// KVM alike); that is a precondition of the test, not an assertion about the host's KVM.
    static let kvmDeviceExists = FileManager.default.fileExists(atPath: "/dev/kvm")

    @Test(.enabled(if: kvmDeviceExists, "libvirt cannot define a KVM domain without /dev/kvm"))
    func automaticKVMThatKillsTheGuestFallsBackToTCG() throws {
        let h = try StandbyHarness("fallback", marker: "fell-back", stay: true)
        defer { h.removeDomain() }
        try Self.storeVerdictKVM(h)
        let build = try h.cli.run(["standby", "build", h.machine])
        try #require(build.status == 0, "\(build.output)")
        #expect(build.output.contains("(kvm)"), "the build used the stored verdict: \(build.output)")

        let saboteur = Saboteur(domain: { $0 == h.machine })
        let failover = try h.cli.run(["failover", h.machine, "--timeout", "150", "--json"])
        saboteur.finish()
        #expect(failover.status == 0, "\(failover.output)")
        let report = Self.json(failover.stdout)
        #expect(report["accelerator"] as? String == "tcg", "\(failover.output)")
        #expect((report["fallback"] as? String ?? "").contains("restarted it under TCG"), "\(failover.output)")
        #expect(h.console().contains("UNDERSTUDY-MARKER: fell-back"))
        #expect(shell("virsh -c qemu:///system dumpxml \(h.machine) --inactive").output.contains("type='qemu'"),
                "the standby is redefined under TCG")
        let verdict = try #require(HostVerdict.load(store: h.dir.file("store")))
        #expect(verdict.accelerator == "tcg")
        #expect(verdict.fallbacks.last?.domain.contains(h.machine) == true, "\(verdict)")
        shell("virsh -c qemu:///system destroy \(h.machine)")

        // doctor shows the verdict and the fallback
        let doctor = try h.cli.run(["doctor"])
        #expect(doctor.status == 0 && doctor.stdout.contains("accelerator: tcg") && doctor.stdout.contains("fallback:"), "\(doctor.output)")

        // verify: the disposable copy under KVM is stopped too; it is restarted under TCG
        try Self.storeVerdictKVM(h)
        let verifySaboteur = Saboteur(domain: { $0.hasPrefix(h.machine + "-verify-") })
        let verify = try h.cli.run(["verify", h.machine, "--timeout", "150", "--json"])
        verifySaboteur.finish()
        #expect(verify.status == 0, "\(verify.output)")
        #expect((Self.json(verify.stdout)["message"] as? String ?? "").contains("restart under TCG"), "\(verify.output)")
    }

    @Test(.enabled(if: kvmDeviceExists, "libvirt cannot define a KVM domain without /dev/kvm"))
    func forcedKVMIsObeyedAndItsFailureReportedAtOnce() throws {
        let h = try StandbyHarness("forced", marker: "forced", stay: true)
        defer { h.removeDomain() }
        try h.set(["--accel", "kvm"])
        try #require(try h.cli.run(["standby", "build", h.machine]).status == 0)
        let saboteur = Saboteur(domain: { $0 == h.machine })
        let started = Date()
        let failover = try h.cli.run(["failover", h.machine, "--timeout", "150"])
        saboteur.finish()
        #expect(failover.status == 1)
        #expect(failover.stderr.contains("forced by the machine's profile"), "\(failover.stderr)")
        #expect(Date().timeIntervalSince(started) < 100, "a dead guest is not waited for until the timeout")
        #expect(HostVerdict.load(store: h.dir.file("store"))?.fallbacks.isEmpty ?? true, "a forced choice records no fallback")
    }

    @Test func aGuestPausedByQemuFailsFailoverAtOnce() throws {
        let h = try StandbyHarness("paused", marker: "paused", stay: true)
        defer { h.removeDomain() }
        try h.set(["--accel", "tcg"])
        try #require(try h.cli.run(["standby", "build", h.machine]).status == 0)
        let saboteur = Saboteur(domain: { $0 == h.machine }, onlyKVM: false)
        let started = Date()
        let failover = try h.cli.run(["failover", h.machine, "--timeout", "150"])
        saboteur.finish()
        #expect(failover.status == 1)
        #expect(failover.stderr.contains("qemu paused the guest"), "\(failover.stderr)")
        #expect(Date().timeIntervalSince(started) < 60, "finding 5: a paused guest is not waited for for the whole timeout")
        #expect(shell("virsh -c qemu:///system domstate \(h.machine) --reason").output.contains("paused"))
    }
}

/// Stops the first running domain instance that matches (and, with `onlyKVM`, runs under KVM)
/// through the qemu monitor, as KVM's internal error would; once, in the background, for at most
/// 3 min. A KVM instance that could not start at all is never seen: the guest then falls back
/// at its start.
final class Saboteur: @unchecked Sendable {
    private let done = Locked(false)
    private let thread: Thread

    init(domain matches: @escaping @Sendable (String) -> Bool, onlyKVM: Bool = true) {
        let done = self.done
        thread = Thread {
            let until = Date().addingTimeInterval(180)
            while !done.get(), Date() < until {
                let names = shell("virsh -c qemu:///system list --name").output.split(separator: "\n").map(String.init)
                if let name = names.first(where: matches) {
                    // By the instance's id, not its name: a KVM instance that dies on its own may
                    // already have been replaced by the TCG one, which must be left alone.
                    let xml = shell("virsh -c qemu:///system dumpxml \(name)").output
                    let id = xml.firstMatch(of: /<domain type='(\w+)' id='(\d+)'/)
                    if let id, !onlyKVM || id.1 == "kvm" {
                        shell("virsh -c qemu:///system qemu-monitor-command \(id.2) --hmp stop")
                        return
                    }
                }
                Thread.sleep(forTimeInterval: 0.05)
            }
        }
        thread.start()
    }

    func finish() { done.set(true) }
}
