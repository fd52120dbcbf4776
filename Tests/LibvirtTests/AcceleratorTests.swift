import Foundation
import Libvirt
import Testing
import TestSupport

/// The probe's decision logic against fake qemu binaries, one per behaviour a KVM can have
/// (boots the probe, hangs, a paravirtual KVM that kills the guest in protected mode, absent),
/// and the probe sector itself under real qemu with TCG. No test runs the host's own KVM or
/// asserts what it does.
@Suite("Libvirt: accelerator probe", .timeLimit(.minutes(2)))
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

    @Test("an invalid UNDERSTUDY_ACCEL is reported and ignored (the probe runs)")
    func invalidEnvironment() throws {
        let fake = try FakeQemu.make(.works)
        let report = Accelerator.probeReport(environment: ["UNDERSTUDY_ACCEL": "hvf"], qemu: fake.path)
        #expect(report.reason.contains("ignored UNDERSTUDY_ACCEL=hvf"), "\(report)")
        #expect(report.kvmTrial != nil)
        #expect(report.accelerator == .kvm)
    }

    @Test("a KVM that passes every stage is chosen, with the stages as evidence")
    func workingKVM() throws {
        let fake = try FakeQemu.make(.works)
        let report = Accelerator.probeReport(environment: [:], qemu: fake.path)
        #expect(report.accelerator == .kvm, "\(report)")
        #expect(report.stagesReached == Accelerator.probeStages)
        #expect(fake.arguments().contains("-accel kvm"), "the trial asked for KVM: \(fake.arguments())")
    }

    @Test("a paravirtual KVM that dies at the protected-mode iret means TCG, at once")
    func kvmPVM() throws {
        let fake = try FakeQemu.make(.emulationFailure(after: "RP"))
        let clock = ContinuousClock()
        let start = clock.now
        let report = Accelerator.probeReport(environment: [:], qemu: fake.path, deadline: .seconds(30))
        #expect(report.accelerator == .tcg, "\(report)")
        #expect(clock.now - start < .seconds(10), "qemu stops the guest instead of exiting: the trial must read its error, not wait")
        #expect(report.reason.contains("emulation failure") && report.reason.contains("at an iret in protected mode"), "\(report)")
        #expect(report.stagesReached == ["real mode", "protected mode"])
    }

    @Test("a KVM that hangs means TCG at the deadline")
    func hangingKVM() throws {
        let fake = try FakeQemu.make(.hangs)
        let report = Accelerator.probeReport(environment: [:], qemu: fake.path, deadline: .seconds(1))
        #expect(report.accelerator == .tcg)
        #expect(report.reason.contains("made no progress"), "\(report)")
        #expect(report.kvmTrial! < .seconds(4), "the stalled trial was killed at the deadline: \(report)")
    }

    @Test("a qemu that exits with the success status but skipped stages is not trusted")
    func realModeOnly() throws {
        // What the old 512-byte real-mode probe showed on a paravirtual KVM.
        let fake = try FakeQemu.make(.exitsAfter("R", status: 85))
        let report = Accelerator.probeReport(environment: [:], qemu: fake.path)
        #expect(report.accelerator == .tcg)
        #expect(report.reason.contains("without passing every stage"), "\(report)")
    }

    @Test("no usable KVM, or no qemu at all, means TCG")
    func noKVM() throws {
        let fake = try FakeQemu.make(.exitsAfter("", status: 1, stderr: "Could not access KVM kernel module: No such file or directory"))
        let report = Accelerator.probeReport(environment: [:], qemu: fake.path)
        #expect(report.accelerator == .tcg)
        #expect(report.reason.contains("Could not access KVM"), "\(report)")

        let missing = Accelerator.probeReport(environment: [:], qemu: "/nonexistent/qemu")
        #expect(missing.accelerator == .tcg)
        #expect(missing.reason.contains("could not run"), "\(missing)")
    }

    @Test("the probe sector passes every stage under real qemu (TCG standing in for KVM)")
    func realProbeUnderTCG() throws {
        try #require(FileManager.default.isExecutableFile(atPath: Accelerator.defaultQemu), "needs qemu-system-x86 (scripts/install-deps.sh)")
        let wrapper = try FakeQemu.make(.tcgInstead)
        let report = Accelerator.probeReport(environment: [:], qemu: wrapper.path, deadline: .seconds(30))
        #expect(report.accelerator == .kvm, "\(report)")
        #expect(report.stagesReached == Accelerator.probeStages, "\(report)")
    }

    @Test("the embedded sector is what GNU as makes of ProbeSector.S")
    func sectorMatchesSource() throws {
        try #require(FileManager.default.isExecutableFile(atPath: "/usr/bin/as"), "needs binutils (scripts/install-deps.sh)")
        let source = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("../../Sources/Libvirt/ProbeSector.S").standardized.path
        let dir = TempDir("probe-asm")
        let r = shell("as --64 -o \(dir.file("p.o")) \(source) && ld -m elf_x86_64 -Ttext=0x7c00 --oformat=binary -e start -o \(dir.file("p.bin")) \(dir.file("p.o"))")
        try #require(r.status == 0, "\(r.output)")
        let assembled = try [UInt8](Data(contentsOf: URL(fileURLWithPath: dir.file("p.bin"))))
        #expect(assembled.count == 512)
        #expect(assembled == Accelerator.probeImage, "regenerate Sources/Libvirt/ProbeSector.swift from ProbeSector.S")
    }
}

/// A shell script standing in for qemu-system-x86_64: it writes stage marks to the file named by
/// `-debugcon file:PATH`, and exits, hangs or reports an internal error the way each kind of
/// host does. It records its arguments.
struct FakeQemu {
    enum Behaviour {
        case works
        case hangs
        case emulationFailure(after: String)
        case exitsAfter(String, status: Int, stderr: String = "")
        case tcgInstead
    }

    let dir: TempDir
    var path: String { dir.file("qemu") }

    func arguments() -> String { (try? String(contentsOfFile: dir.file("args"), encoding: .utf8)) ?? "" }

    static func make(_ behaviour: Behaviour) throws -> FakeQemu {
        let dir = TempDir("fake-qemu")
        let body: String
        switch behaviour {
        case .works: body = "marks RPITLQ; exit 85"
        case .hangs: body = "exec sleep 60"
        case .emulationFailure(let marks):
            body = "marks \(marks); printf 'KVM internal error. Suberror: 1\\nemulation failure\\nEIP=00007c42\\n' >&2; exec sleep 60"
        case .exitsAfter(let marks, let status, let stderr):
            body = "marks '\(marks)'; printf '%s\\n' '\(stderr)' >&2; exit \(status)"
        case .tcgInstead:
            body = """
                for a; do shift; [ "$a" = kvm ] && a=tcg; set -- "$@" "$a"; done
                exec \(Accelerator.defaultQemu) "$@"
                """
        }
        let script = """
            #!/bin/sh
            echo "$*" > \(dir.file("args"))
            con=$(echo "$*" | sed -n 's/.*-debugcon file:\\([^ ]*\\).*/\\1/p')
            marks() { printf '%s' "$1" > "$con"; }
            \(body)

            """
        try script.write(toFile: dir.file("qemu"), atomically: true, encoding: .utf8)
        chmod(dir.file("qemu"), 0o755)
        return FakeQemu(dir: dir)
    }
}
