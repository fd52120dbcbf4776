internal import Foundation

/// How qemu runs guest code: hardware virtualisation (KVM) or emulation (TCG).
///
/// The presence of `/dev/kvm` proves nothing: on some nested hosts a guest under KVM runs so
/// slowly that it looks hung, and a paravirtual KVM (`kvm-pvm`) runs real-mode code but kills the
/// guest at its first `iret` in protected mode. `probe()` therefore boots `ProbeSector` — real
/// mode, protected mode, an iret, timer interrupts, paging and long mode, an iretq — under KVM,
/// and picks KVM only if every stage passes within a short deadline.
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
        /// The probe's stages the KVM trial passed, by name, when it ran.
        public let stagesReached: [String]?

        public init(accelerator: Accelerator, reason: String, kvmTrial: Duration?, stagesReached: [String]? = nil) {
            self.accelerator = accelerator; self.reason = reason; self.kvmTrial = kvmTrial; self.stagesReached = stagesReached
        }

        public var description: String { "\(accelerator.rawValue): \(reason)" }
    }

    /// Decides between KVM and TCG; see `probeReport` for the rule.
    public static func probe(override: Accelerator? = nil, environment: [String: String]? = nil,
                             qemu: String = defaultQemu,
                             deadline: Duration = defaultDeadline) -> Accelerator {
        probeReport(override: override, environment: environment, qemu: qemu, deadline: deadline).accelerator
    }

    /// How long the KVM trial may take. A healthy KVM passes every stage in well under a second
    /// (TCG takes ~0.5 s here on a busy host); a slow verdict costs only speed, since TCG works.
    public static let defaultDeadline: Duration = .seconds(5)

    /// The qemu that libvirt runs on Debian.
    public static let defaultQemu = "/usr/bin/qemu-system-x86_64"

    /// The probe's boot sector (`ProbeSector.S`), for tests that reassemble it.
    public static var probeImage: [UInt8] { ProbeSector.bytes }

    /// The stages of the probe, in order, by name.
    public static var probeStages: [String] { ProbeSector.stages.map(\.meaning) }

    /// Decides between KVM and TCG and says why:
    /// 1. `override` wins, then `UNDERSTUDY_ACCEL` from `environment` (the process's by default);
    /// 2. otherwise qemu boots `ProbeSector` under KVM (`-accel kvm`, SeaBIOS, IDE disk), which
    ///    prints a mark per stage on the debug console and ends by writing to `isa-debug-exit`.
    ///    KVM is chosen only if qemu exits with that status, every stage passed, within
    ///    `deadline`. qemu reporting a KVM internal error (it then stops the guest rather than
    ///    exiting) ends the trial at once. Anything else (no KVM, an error, a stall) is TCG.
    public static func probeReport(override: Accelerator? = nil, environment: [String: String]? = nil,
                                   qemu: String = defaultQemu,
                                   deadline: Duration = defaultDeadline) -> Probe {
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
        let reached = ProbeSector.stages.filter { trial.stages.contains($0.mark) }.map(\.meaning)
        return Probe(accelerator: accelerator, reason: trial.summary + (trial.succeeded ? "" : "; using TCG") + note,
                     kvmTrial: trial.duration, stagesReached: reached)
    }
}
