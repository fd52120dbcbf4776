import BlockStore
import Foundation
public import Libvirt

/// Why a starting guest is given up on before its readiness timeout.
public struct GuestFailure: Error, CustomStringConvertible, Sendable {
    public var message: String
    /// Whether a broken accelerator explains it (qemu stopped the guest itself, the guest
    /// crashed or made no progress, or it could not start under KVM), so TCG may do better. A
    /// disk I/O error or a guest that shut down does not qualify.
    public var acceleratorSuspect: Bool
    public var description: String { message }
}

/// Watches a booting guest for the ways it dies without exiting: libvirt shows it `paused` by
/// qemu itself (KVM's "emulation failure" stops the guest; libvirt reports that as reason
/// `unknown`), by a disk I/O error, a watchdog or a guest crash, or `crashed`. When asked to,
/// it also notices a guest that makes no progress: neither its console log nor its screen
/// changes for `stallSeconds` — what a hanging KVM looks like.
///
/// `check()` is what `ReadinessProbe.wait` polls: true while the guest runs, false once it has
/// shut off, and a `GuestFailure` for the rest. A pause by a user is waited out.
public final class GuestWatch {
    public let domain: Domain
    public let serialLog: String
    /// Seconds without any change of console or screen after which the guest counts as stalled;
    /// nil: never.
    public let stallSeconds: Double?
    /// How often the console and screen are sampled for progress.
    var sampleSeconds: Double = 5

    private var lastChange = Date()
    private var lastSample = Date.distantPast
    private var lastSize: Int64 = -1
    private var lastScreen: Int?

    public init(domain: Domain, serialLog: String, stallSeconds: Double? = nil) {
        self.domain = domain; self.serialLog = serialLog; self.stallSeconds = stallSeconds
    }

    /// True while the guest runs (or is paused by a user), false once it has stopped; throws
    /// `GuestFailure` when it was stopped by a fault or made no progress.
    public func check() throws -> Bool {
        guard let current = try? domain.stateAndReason() else { return false }
        let (state, reason) = current
        switch state {
        case .shutOff: return false
        case .crashed:
            throw GuestFailure(message: "the guest crashed (libvirt state crashed, reason \(reason))", acceleratorSuspect: true)
        case .paused:
            let why = PauseReason(rawValue: reason)
            switch why {
            case .user, .startingUp: return true
            case .ioError:
                throw GuestFailure(message: "qemu paused the guest on a disk I/O error (is the host's disk full?)", acceleratorSuspect: false)
            default:
                throw GuestFailure(message: "qemu paused the guest: \(why)", acceleratorSuspect: true)
            }
        default:
            try checkProgress()
            return true
        }
    }

    private func checkProgress() throws {
        guard let stallSeconds else { return }
        let now = Date()
        guard now.timeIntervalSince(lastSample) >= sampleSeconds else { return }
        lastSample = now
        let size = (try? FileManager.default.attributesOfItem(atPath: serialLog)[.size] as? Int64) ?? 0
        let screen = (try? domain.screenshot()).map { $0.bytes.hashValue }
        if size != lastSize || (screen != nil && screen != lastScreen) {
            lastSize = size
            lastScreen = screen ?? lastScreen
            lastChange = now
            return
        }
        if now.timeIntervalSince(lastChange) >= stallSeconds {
            throw GuestFailure(message: "the guest made no progress for \(Int(stallSeconds)) s (console and screen unchanged)",
                               acceleratorSuspect: true)
        }
    }
}
