internal import Foundation

/// How qemu runs guest code: hardware virtualisation (KVM) or emulation (TCG).
///
/// The presence of `/dev/kvm` proves nothing: on our nested hosts it exists, and a guest under KVM
/// runs so slowly that it looks hung. `probe()` therefore boots a real guest under KVM and picks
/// KVM only if that demonstrably works within a short deadline.
public enum Accelerator: String, Hashable, Sendable, CaseIterable {
    case kvm
    case tcg

    /// The environment variable that forces a choice: `UNDERSTUDY_ACCEL=kvm|tcg`.
    public static let environmentKey = "UNDERSTUDY_ACCEL"

    /// The libvirt `<domain type=…>` for this accelerator.
    public var domainType: String {
        switch self {
        case .kvm: "kvm"
        case .tcg: "qemu"
        }
    }

    /// The qemu `-accel` value.
    public var qemuName: String { rawValue }

    /// What `probe` decided and why.
    public struct Probe: Sendable, CustomStringConvertible {
        public let accelerator: Accelerator
        /// Why: forced by the override or the environment, or what the KVM trial showed.
        public let reason: String
        /// How long the KVM trial ran, when it ran.
        public let kvmTrial: Duration?

        public var description: String { "\(accelerator.rawValue): \(reason)" }
    }

    /// Decides between KVM and TCG; see `probeReport` for the rule.
    public static func probe(override: Accelerator? = nil, environment: [String: String]? = nil,
                             qemu: String = "/usr/bin/qemu-system-x86_64",
                             deadline: Duration = .seconds(2)) -> Accelerator {
        probeReport(override: override, environment: environment, qemu: qemu, deadline: deadline).accelerator
    }

    /// Decides between KVM and TCG and says why:
    /// 1. `override` wins, then `UNDERSTUDY_ACCEL` from `environment` (the process's by default);
    /// 2. otherwise qemu boots a 512-byte boot sector under KVM (`-accel kvm`, SeaBIOS, IDE disk)
    ///    whose only job is to write to an `isa-debug-exit` port, which makes qemu exit with a
    ///    known status. KVM is chosen only if qemu exits with that status within `deadline`.
    ///    A healthy KVM host does this in a fraction of a second; TCG does it here in ~0.2 s, while
    ///    KVM on our nested hosts takes over 5 s. Anything else (no KVM, an error, a stall) is TCG.
    public static func probeReport(override: Accelerator? = nil, environment: [String: String]? = nil,
                                   qemu: String = "/usr/bin/qemu-system-x86_64",
                                   deadline: Duration = .seconds(2)) -> Probe {
        if let override {
            return Probe(accelerator: override, reason: "forced by the caller", kvmTrial: nil)
        }
        let env = environment ?? ProcessInfo.processInfo.environment
        var note = ""
        if let value = env[environmentKey], !value.isEmpty {
            if let forced = Accelerator(rawValue: value.lowercased()) {
                return Probe(accelerator: forced, reason: "forced by \(environmentKey)=\(value)", kvmTrial: nil)
            }
            note = " (ignored \(environmentKey)=\(value): expected kvm or tcg)"
        }
        let trial = BootTrial.run(qemu: qemu, accelerator: .kvm, deadline: deadline)
        let accelerator: Accelerator = trial.succeeded ? .kvm : .tcg
        return Probe(accelerator: accelerator, reason: trial.summary + note, kvmTrial: trial.duration)
    }
}

/// One timed boot of the probe sector.
struct BootTrial {
    var succeeded: Bool
    var duration: Duration
    var summary: String

    /// `mov al, 0x2a; out 0xf4, al; cli; hlt; jmp $-1`, padded to 510 bytes, then the boot
    /// signature 0x55 0xAA. Writing 0x2a to isa-debug-exit makes qemu exit with (0x2a << 1) | 1.
    static let bootSector: [UInt8] = {
        var sector: [UInt8] = [0xB0, 0x2A, 0xE6, 0xF4, 0xFA, 0xF4, 0xEB, 0xFD]
        sector += [UInt8](repeating: 0, count: 510 - sector.count)
        return sector + [0x55, 0xAA]
    }()
    static let expectedStatus: Int32 = 0x2A << 1 | 1

    static func run(qemu: String, accelerator: Accelerator, deadline: Duration) -> BootTrial {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("understudy-accel-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        let image = folder.appendingPathComponent("boot.img")
        do {
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            try Data(bootSector).write(to: image)
        } catch {
            return BootTrial(succeeded: false, duration: .zero, summary: "could not write the probe image: \(error)")
        }

        let process = Process()
        process.executableURL = URL(fileURLWithPath: qemu)
        process.arguments = [
            "-accel", accelerator.qemuName, "-machine", "pc", "-m", "16",
            "-nodefaults", "-display", "none", "-serial", "none", "-monitor", "none", "-no-reboot",
            "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04",
            "-drive", "file=\(image.path),format=raw,if=ide",
        ]
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        let clock = ContinuousClock()
        let start = clock.now
        do {
            try process.run()
        } catch {
            return BootTrial(succeeded: false, duration: .zero, summary: "could not run \(qemu): \(error)")
        }
        while process.isRunning, clock.now - start < deadline {
            Thread.sleep(forTimeInterval: 0.01)
        }
        let elapsed = clock.now - start
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            return BootTrial(succeeded: false, duration: elapsed,
                             summary: "\(accelerator.rawValue) did not boot the probe within \(deadline); using TCG")
        }
        let status = process.terminationStatus
        guard process.terminationReason == .exit, status == expectedStatus else {
            return BootTrial(succeeded: false, duration: elapsed,
                             summary: "qemu -accel \(accelerator.rawValue) exited with status \(status) (unavailable); using TCG")
        }
        return BootTrial(succeeded: true, duration: elapsed,
                         summary: "\(accelerator.rawValue) booted the probe in \(elapsed)")
    }
}
