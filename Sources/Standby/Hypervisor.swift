import BlockStore
public import Libvirt
public import Foundation
import Core

/// Opening libvirt and choosing the accelerator, with errors in the store's terms.
public enum Hypervisor {
    public static let defaultURI = "qemu:///system"

    /// A connection, or an error naming the URI and how to start libvirt.
    public static func connect(_ uri: String) throws -> Connection {
        do {
            return try Connection(uri: uri)
        } catch {
            throw UnderstudyError(.notFound, "cannot reach libvirt at \(uri): \(error.message)\(error.hint.map { " (\($0))" } ?? " (start it with `virtlogd -d; libvirtd -d`, or pass --connect URI)")")
        }
    }

    /// Runs a libvirt call, turning its error into a UnderstudyError naming what was attempted.
    public static func call<T>(_ what: String, _ body: () throws -> T) throws -> T {
        do { return try body() } catch let error as LibvirtError {
            throw UnderstudyError(.io, "\(what): \(error.message)")
        }
    }

    /// Verdicts this process has made, by store: where the store cannot keep one (read-only), the
    /// probe still runs only once a process.
    private static let probed = Locked<[String: HostVerdict]>([:])

    /// The accelerator for a profile, and whether it was chosen automatically: forced by the
    /// profile (`machine set --accel`) or by `UNDERSTUDY_ACCEL`, or the host's verdict. The
    /// verdict comes from `STORE/accelerator.json` while it holds for this host (kernel, qemu,
    /// CPU; `HostVerdict`), else from a fresh probe (`Accelerator.probeReport`), then saved.
    public static func accelerator(for profile: HardwareProfile, store storePath: String,
                                   environment: [String: String] = ProcessInfo.processInfo.environment) -> AccelDecision {
        switch profile.accel {
        case .kvm: return AccelDecision(accelerator: .kvm, automatic: false, reason: "forced by the machine's profile (machine set --accel kvm)")
        case .tcg: return AccelDecision(accelerator: .tcg, automatic: false, reason: "forced by the machine's profile (machine set --accel tcg)")
        case .auto: break
        }
        if let value = environment[Accelerator.environmentKey], let forced = Accelerator(rawValue: value.lowercased()) {
            return AccelDecision(accelerator: forced, automatic: false, reason: "forced by \(Accelerator.environmentKey)=\(value)")
        }
        let verdict = hostVerdict(store: storePath, environment: environment)
        return AccelDecision(accelerator: verdict.decided, automatic: true, reason: verdict.reason)
    }

    /// This host's verdict: remembered, stored, or probed now (and stored).
    public static func hostVerdict(store storePath: String, reprobe: Bool = false,
                                   environment: [String: String] = ProcessInfo.processInfo.environment) -> HostVerdict {
        let host = HostVerdict.Host.current()
        if !reprobe {
            // The file first: another process (a failover) may have recorded a fallback since.
            if let stored = HostVerdict.load(store: storePath), stored.holds(for: host) { return stored }
            if let known = probed.get()[storePath], known.holds(for: host) { return known }
        }
        var env = environment
        env[Accelerator.environmentKey] = nil  // a verdict is the host's, never an override's
        let verdict = HostVerdict(host: host, probe: Accelerator.probeReport(environment: env))
        remember(verdict, storePath)
        try? verdict.save(store: storePath)
        return verdict
    }

    private static func remember(_ verdict: HostVerdict, _ storePath: String) {
        var known = probed.get()
        known[storePath] = verdict
        probed.set(known)
    }

    /// Records that a guest died under an automatically chosen KVM: the host's verdict becomes
    /// TCG, with the guest as evidence.
    public static func recordFallback(store storePath: String, domain: String, reason: String) {
        let current = HostVerdict.load(store: storePath) ?? probed.get()[storePath]
            ?? HostVerdict(host: .current(), probe: .init(accelerator: .kvm, reason: "not probed", kvmTrial: nil))
        let next = current.withFallback(.init(time: Date(), domain: domain, reason: reason))
        remember(next, storePath)
        try? next.save(store: storePath)
    }
}

/// Which accelerator a guest starts with, and whether Understudy chose it (then a guest that
/// KVM kills is restarted under TCG) or was told to (then the failure is reported).
public struct AccelDecision: Sendable, CustomStringConvertible {
    public var accelerator: Accelerator
    public var automatic: Bool
    public var reason: String

    public init(accelerator: Accelerator, automatic: Bool, reason: String) {
        self.accelerator = accelerator; self.automatic = automatic; self.reason = reason
    }

    public var description: String { "\(accelerator.rawValue) (\(automatic ? "probed" : "forced")): \(reason)" }
}
