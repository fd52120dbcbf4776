import Foundation
import Libvirt
import Testing
import TestSupport

@Suite("Libvirt: accelerator probe", .timeLimit(.minutes(1)))
struct AcceleratorTests {
    @Test("overrides and UNDERSTUDY_ACCEL win without probing")
    func overrides() {
        #expect(Accelerator.probe(override: .kvm) == .kvm)
        #expect(Accelerator.probe(override: .tcg, environment: ["UNDERSTUDY_ACCEL": "kvm"]) == .tcg)
        #expect(Accelerator.probe(environment: ["UNDERSTUDY_ACCEL": "kvm"]) == .kvm)
        #expect(Accelerator.probe(environment: ["UNDERSTUDY_ACCEL": "TCG"]) == .tcg)
        let report = Accelerator.probeReport(environment: ["UNDERSTUDY_ACCEL": "kvm"])
        #expect(report.kvmTrial == nil)
        #expect(report.reason.contains("UNDERSTUDY_ACCEL"))
        #expect(Accelerator.kvm.domainType == "kvm")
        #expect(Accelerator.tcg.domainType == "qemu")
    }

    @Test("on this host KVM does not boot the probe in time, so the probe says TCG")
    func probesTCGHere() {
        let report = Accelerator.probeReport(environment: [:])
        #expect(report.accelerator == .tcg, "\(report)")
        #expect(report.kvmTrial != nil, "the decision came from a trial: \(report)")
        #expect(report.kvmTrial! <= .seconds(4), "the stalled trial was killed at the deadline: \(report)")
    }

    @Test("an invalid UNDERSTUDY_ACCEL is reported and ignored")
    func invalidEnvironment() {
        let report = Accelerator.probeReport(environment: ["UNDERSTUDY_ACCEL": "hvf"])
        #expect(report.reason.contains("ignored UNDERSTUDY_ACCEL=hvf"), "\(report)")
        #expect(report.kvmTrial != nil)
    }

    @Test("the probe's boot sector works: TCG boots it and exits with the expected status")
    func tcgTrialSucceeds() throws {
        try #require(FileManager.default.isExecutableFile(atPath: "/usr/bin/qemu-system-x86_64"),
                     "needs qemu-system-x86 (scripts/install-deps.sh)")
        // A "kvm" probe answered by a wrapper that runs TCG shows the success path and the timing.
        let folder = TempDir("accel")
        let wrapper = folder.file("qemu-tcg")
        let script = """
            #!/bin/sh
            for a; do shift; [ "$a" = kvm ] && a=tcg; set -- "$@" "$a"; done
            exec /usr/bin/qemu-system-x86_64 "$@"

            """
        try script.write(toFile: wrapper, atomically: true, encoding: .utf8)
        chmod(wrapper, 0o755)
        let report = Accelerator.probeReport(environment: [:], qemu: wrapper, deadline: .seconds(10))
        #expect(report.accelerator == .kvm, "\(report)")
    }

    @Test("a qemu that cannot run means TCG")
    func missingQemu() {
        let report = Accelerator.probeReport(environment: [:], qemu: "/nonexistent/qemu")
        #expect(report.accelerator == .tcg)
        #expect(report.reason.contains("could not run"), "\(report)")
    }
}
