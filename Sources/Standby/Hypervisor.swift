import BlockStore
public import Libvirt
import Foundation

/// Opening libvirt and choosing the accelerator, with errors in the store's terms.
public enum Hypervisor {
    public static let defaultURI = "qemu:///system"

    /// A connection, or an error naming the URI and how to start libvirt.
    public static func connect(_ uri: String) throws -> Connection {
        do {
            return try Connection(uri: uri)
        } catch {
            throw StoreError(.notFound, "cannot reach libvirt at \(uri): \(error.message)\(error.hint.map { " (\($0))" } ?? " (start it with `virtlogd -d; libvirtd -d`, or pass --connect URI)")")
        }
    }

    /// Runs a libvirt call, turning its error into a StoreError naming what was attempted.
    public static func call<T>(_ what: String, _ body: () throws -> T) throws -> T {
        do { return try body() } catch let error as LibvirtError {
            throw StoreError(.io, "\(what): \(error.message)")
        }
    }

    private static let probed = Locked<Accelerator?>(nil)

    /// The accelerator for a profile: forced, or probed (KVM only if it demonstrably works). The
    /// probe boots a tiny guest (~2 s when KVM is slow), so its answer is kept for a day in
    /// `cacheFile` (and for the process); `UNDERSTUDY_ACCEL` still wins.
    public static func accelerator(for profile: HardwareProfile, cacheFile: String? = nil) -> Accelerator {
        switch profile.accel {
        case .kvm: return .kvm
        case .tcg: return .tcg
        case .auto:
            if ProcessInfo.processInfo.environment[Accelerator.environmentKey] != nil { return Accelerator.probe() }
            if let known = probed.get() { return known }
            if let cacheFile, let text = try? String(contentsOfFile: cacheFile, encoding: .utf8),
               let cached = Accelerator(rawValue: text.trimmingCharacters(in: .whitespacesAndNewlines)),
               let modified = (try? FileManager.default.attributesOfItem(atPath: cacheFile))?[.modificationDate] as? Date,
               Date().timeIntervalSince(modified) < 86_400 {
                probed.set(cached)
                return cached
            }
            let found = Accelerator.probe()
            probed.set(found)
            if let cacheFile { try? FileSystem.writeAtomically(Array((found.rawValue + "\n").utf8), to: cacheFile) }
            return found
        }
    }
}
