import BlockStore
import Foundation
public import Libvirt
import Core

/// Starts a guest under the chosen accelerator and waits for it; when KVM was chosen
/// automatically and the guest dies the way a broken KVM kills guests (`GuestFailure` with
/// `acceleratorSuspect`, or libvirt failing to start it), records that on the host's verdict,
/// says so, and starts the guest once more under TCG. A forced KVM is obeyed: its failure is
/// reported, naming what forced it.
public struct GuestLauncher {
    public var decision: AccelDecision
    /// The store whose host verdict records a fallback.
    public var storePath: String
    /// Told when the guest is restarted under TCG (a line for the user).
    public var note: (String) -> Void
    /// Seconds without console or screen changes that count as a hang under an automatic KVM.
    public var stallSeconds: Double = 45

    public init(decision: AccelDecision, storePath: String, note: @escaping (String) -> Void = { _ in }) {
        self.decision = decision; self.storePath = storePath; self.note = note
    }

    /// What happened: the result of `wait`, the accelerator that got there, and the fallback's
    /// explanation if there was one.
    public struct Outcome<T> {
        public var value: T
        public var accelerator: Accelerator
        public var fallback: String?
    }

    /// `start` defines or creates and starts the guest for an accelerator and returns it;
    /// `wait` waits until it is ready, polling the watch it is given; `discard` stops a guest
    /// given up on. The watch looks for stalls only under an automatic KVM.
    public func run<T>(_ what: String, serialLog: String,
                       start: (Accelerator) throws -> Domain,
                       wait: (Domain, GuestWatch) throws -> T,
                       discard: (Domain) -> Void) throws -> Outcome<T> {
        let first = decision.accelerator
        let mayFallBack = decision.automatic && first == .kvm
        var domain: Domain?
        do {
            let started = try start(first)
            domain = started
            let watch = GuestWatch(domain: started, serialLog: serialLog, stallSeconds: mayFallBack ? stallSeconds : nil)
            return Outcome(value: try wait(started, watch), accelerator: first)
        } catch let failure as GuestFailure {
            guard mayFallBack, failure.acceleratorSuspect else { throw forcedFailure(failure.message, what) }
            if let domain { discard(domain) }
            return try fallBack(what, because: failure.message, serialLog: serialLog, start: start, wait: wait)
        } catch let error as UnderstudyError where domain == nil {
            // libvirt could not start the guest under KVM at all (no usable /dev/kvm, …)
            guard mayFallBack else { throw decision.automatic ? error : forcedFailure(error.message, what) }
            return try fallBack(what, because: "starting under KVM failed: \(error.message)", serialLog: serialLog, start: start, wait: wait)
        }
    }

    private func fallBack<T>(_ what: String, because reason: String, serialLog: String,
                             start: (Accelerator) throws -> Domain,
                             wait: (Domain, GuestWatch) throws -> T) throws -> Outcome<T> {
        let explanation = "KVM failed \(what): \(reason); restarted it under TCG (the host's verdict is now TCG; `understudy doctor` shows it)"
        note(explanation)
        Hypervisor.recordFallback(store: storePath, domain: what, reason: reason)
        let domain = try start(.tcg)
        let watch = GuestWatch(domain: domain, serialLog: serialLog)
        do {
            return Outcome(value: try wait(domain, watch), accelerator: .tcg, fallback: explanation)
        } catch let failure as GuestFailure {
            throw UnderstudyError(.interrupted, "\(what) failed under KVM (\(reason)) and again under TCG: \(failure.message)")
        }
    }

    private func forcedFailure(_ message: String, _ what: String) -> UnderstudyError {
        let how = decision.automatic ? "" : " (accelerator \(decision.accelerator.rawValue) \(decision.reason))"
        return UnderstudyError(.interrupted, "\(what): \(message)\(how)")
    }
}
