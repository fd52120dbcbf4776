import Foundation
import Libvirt
import Standby
import Testing
import TestSupport

/// The host's accelerator verdict: kept per kernel, qemu and CPU, turned to TCG by a fallback,
/// and overridden by a profile or UNDERSTUDY_ACCEL. No guest runs here.
@Suite("Standby: the host's accelerator verdict")
struct HostVerdictTests {
    static let host = HostVerdict.Host(kernel: "6.1.0-test", qemu: "QEMU emulator version 7.2.0", cpu: "Test CPU")
    static let kvmProbe = Accelerator.Probe(accelerator: .kvm, reason: "kvm booted the probe", kvmTrial: .milliseconds(80),
                                            stagesReached: Accelerator.probeStages)

    @Test func holdsOnlyForTheSameHostAndNotForever() {
        let verdict = HostVerdict(host: Self.host, probe: Self.kvmProbe, at: Date())
        #expect(verdict.holds(for: Self.host))
        var newKernel = Self.host
        newKernel.kernel = "6.1.0-next"
        #expect(!verdict.holds(for: newKernel), "a kernel update probes again")
        var newQemu = Self.host
        newQemu.qemu = "QEMU emulator version 8.0.0"
        #expect(!verdict.holds(for: newQemu))
        let old = HostVerdict(host: Self.host, probe: Self.kvmProbe, at: Date().addingTimeInterval(-HostVerdict.maxAge - 60))
        #expect(!old.holds(for: Self.host))
        #expect(verdict.trialSeconds.map { abs($0 - 0.08) < 0.001 } == true)
    }

    @Test func aFallbackTurnsTheVerdictToTCGWithItsEvidence() throws {
        let verdict = HostVerdict(host: Self.host, probe: Self.kvmProbe)
        #expect(verdict.decided == .kvm)
        let after = verdict.withFallback(.init(time: Date(), domain: "web1", reason: "qemu paused the guest: unknown"))
        #expect(after.decided == .tcg)
        #expect(after.reason.contains("web1") && after.reason.contains("qemu paused the guest"))
        #expect(after.fallbacks.count == 1)
        #expect(after.holds(for: Self.host), "the fallback is this host's verdict")

        let dir = TempDir("verdict")
        try after.save(store: dir.path)
        let loaded = try #require(HostVerdict.load(store: dir.path))
        #expect(loaded.host == after.host && loaded.accelerator == "tcg" && loaded.reason == after.reason)
        #expect(loaded.fallbacks.map(\.domain) == ["web1"] && loaded.stagesReached == Accelerator.probeStages)
        #expect(abs(loaded.probedAt.timeIntervalSince(after.probedAt)) < 1)
        try "{ not json".write(toFile: HostVerdict.path(store: dir.path), atomically: true, encoding: .utf8)
        #expect(HostVerdict.load(store: dir.path) == nil, "a damaged file is no verdict (the probe runs again)")
    }

    @Test func profileAndEnvironmentWinOverTheVerdict() throws {
        let dir = TempDir("decision")
        try HostVerdict(host: .current(), probe: Self.kvmProbe).save(store: dir.path)
        var profile = HardwareProfile()
        let stored = Hypervisor.accelerator(for: profile, store: dir.path, environment: [:])
        #expect(stored.accelerator == .kvm && stored.automatic, "\(stored)")

        let env = Hypervisor.accelerator(for: profile, store: dir.path, environment: ["UNDERSTUDY_ACCEL": "tcg"])
        #expect(env.accelerator == .tcg && !env.automatic && env.reason.contains("UNDERSTUDY_ACCEL=tcg"))

        profile.accel = .kvm
        let forced = Hypervisor.accelerator(for: profile, store: dir.path, environment: ["UNDERSTUDY_ACCEL": "tcg"])
        #expect(forced.accelerator == .kvm && !forced.automatic && forced.reason.contains("machine set --accel kvm"))
    }
}
