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
/// changes for `stallSeconds` — what a hanging KVM looks like — until the guest has shown it
/// runs (its console grew, or its screen changed three times), after which it may sit quiet.
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
    public let sampleSeconds: Double

    private var lastChange = Date()
    private var lastSample = Date.distantPast
    private var lastSize: Int64 = -1
    private var lastScreen: RGBImage?
    private var screenChanges = 0
    private var alive = false

    public init(domain: Domain, serialLog: String, stallSeconds: Double? = nil, sampleSeconds: Double = 5) {
        self.domain = domain; self.serialLog = serialLog; self.stallSeconds = stallSeconds; self.sampleSeconds = sampleSeconds
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
        guard let stallSeconds, !alive else { return }
        let now = Date()
        guard now.timeIntervalSince(lastSample) >= sampleSeconds else { return }
        lastSample = now
        let size = (try? FileManager.default.attributesOfItem(atPath: serialLog)[.size] as? Int64) ?? 0
        let screen = (try? domain.screenshot()).flatMap { try? RGBImage(ppm: $0.bytes) }
        let screenChanged = screen.map { Self.differs($0, from: lastScreen) } ?? false
        if let screen { lastScreen = screen }
        if size != lastSize || screenChanged {
            // Alive once its console grows or its screen has changed a few times: a guest that
            // booted may then sit quietly (waiting for a slow service) without being stalled.
            if lastSize >= 0, size != lastSize { alive = true }
            screenChanges += screenChanged ? 1 : 0
            if screenChanges >= 3 { alive = true }
            lastSize = size
            lastChange = now
            return
        }
        if now.timeIntervalSince(lastChange) >= stallSeconds {
            throw GuestFailure(message: "the guest made no progress for \(Int(stallSeconds)) s (console and screen unchanged)",
                               acceleratorSuspect: true)
        }
    }

    /// Whether the screen changed by more than a blinking text cursor (qemu draws the cursor
    /// blinking whatever the guest does): more than `threshold` pixels differ, or the mode did.
    static func differs(_ screen: RGBImage, from previous: RGBImage?, threshold: Int = 64) -> Bool {
        guard let previous, previous.width == screen.width, previous.height == screen.height else { return true }
        var changed = 0
        screen.pixels.withUnsafeBufferPointer { a in
            previous.pixels.withUnsafeBufferPointer { b in
                var i = 0
                while i < a.count, changed <= threshold {
                    if a[i] != b[i] || a[i + 1] != b[i + 1] || a[i + 2] != b[i + 2] { changed += 1 }
                    i += 3
                }
            }
        }
        return changed > threshold
    }
}
