public import Foundation
import BlockStore
public import Libvirt
import Core

/// What the accelerator probe decided on this host, kept in the store (`STORE/accelerator.json`)
/// with its evidence, and the KVM failures guests met afterwards.
///
/// A verdict holds for one host: the kernel release, the qemu version and the CPU model. Any of
/// them changing (a kernel update, a new qemu, the store moved to another machine) probes again;
/// so does a verdict older than `maxAge`, since a host's KVM can be mended. A guest that KVM
/// killed after the probe chose it turns the verdict to TCG (`recordFallback`).
public struct HostVerdict: Codable, Sendable, Equatable {
    /// The identity a verdict holds for.
    public struct Host: Codable, Sendable, Equatable, CustomStringConvertible {
        public var kernel: String
        public var qemu: String
        public var cpu: String
        public init(kernel: String, qemu: String, cpu: String) { self.kernel = kernel; self.qemu = qemu; self.cpu = cpu }
        public var description: String { "kernel \(kernel), \(qemu), CPU \(cpu)" }
    }

    /// A guest that died under an automatically chosen KVM and was restarted under TCG.
    public struct Fallback: Codable, Sendable, Equatable {
        public var time: Date
        public var domain: String
        public var reason: String
        public init(time: Date, domain: String, reason: String) { self.time = time; self.domain = domain; self.reason = reason }
    }

    public var host: Host
    public var accelerator: String
    public var reason: String
    public var stagesReached: [String]
    public var trialSeconds: Double?
    public var probedAt: Date
    public var fallbacks: [Fallback] = []

    public static let fileName = "accelerator.json"
    public static let maxAge: TimeInterval = 30 * 86_400

    public var decided: Accelerator { Accelerator(rawValue: accelerator) ?? .tcg }

    public init(host: Host, probe: Accelerator.Probe, at time: Date = Date()) {
        self.host = host
        accelerator = probe.accelerator.rawValue
        reason = probe.reason
        stagesReached = probe.stagesReached ?? []
        trialSeconds = probe.kvmTrial.map { Double($0.components.seconds) + Double($0.components.attoseconds) / 1e18 }
        probedAt = time
    }

    /// Whether this verdict still holds for `host` at `now`.
    public func holds(for host: Host, at now: Date = Date()) -> Bool {
        self.host == host && now.timeIntervalSince(probedAt) < Self.maxAge && now >= probedAt
    }

    /// The verdict after a guest died under KVM: TCG from now on, with the guest's evidence.
    public func withFallback(_ fallback: Fallback) -> HostVerdict {
        var next = self
        next.accelerator = Accelerator.tcg.rawValue
        next.reason = "KVM passed the probe but killed guest \(fallback.domain) (\(fallback.reason)); using TCG"
        next.fallbacks = Array((fallbacks + [fallback]).suffix(20))
        return next
    }
}

extension HostVerdict {
    /// The verdict file of the store at `storePath`.
    public static func path(store storePath: String) -> String { storePath + "/" + fileName }

    /// The stored verdict, if there is a readable one.
    public static func load(store storePath: String) -> HostVerdict? {
        guard let data = FileManager.default.contents(atPath: path(store: storePath)) else { return nil }
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        return try? decoder.decode(HostVerdict.self, from: data)
    }

    /// Writes the verdict (temp file, fsync, rename). A read-only store keeps none: the probe then
    /// runs once per process.
    public func save(store storePath: String) throws {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try FileSystem.writeAtomically(Array(try encoder.encode(self)), to: Self.path(store: storePath))
    }
}

extension HostVerdict.Host {
    private static let cached = Locked<HostVerdict.Host?>(nil)

    /// This machine: `uname -r`, the first line of `qemu --version`, `/proc/cpuinfo`'s model name.
    public static func current(qemu: String = Accelerator.defaultQemu) -> HostVerdict.Host {
        if let known = cached.get() { return known }
        var name = utsname()
        uname(&name)
        let kernel = withUnsafeBytes(of: &name.release) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        let cpuinfo = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? ""
        let cpu = cpuinfo.split(separator: "\n").first { $0.hasPrefix("model name") }
            .map { $0.split(separator: ":", maxSplits: 1).last.map { $0.trimmingCharacters(in: .whitespaces) } ?? "" } ?? "unknown"
        let host = HostVerdict.Host(kernel: kernel, qemu: Self.qemuVersion(qemu), cpu: cpu)
        cached.set(host)
        return host
    }

    static func qemuVersion(_ qemu: String) -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: qemu)
        process.arguments = ["--version"]
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        process.standardInput = FileHandle.nullDevice
        guard (try? process.run()) != nil else { return "no qemu at \(qemu)" }
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return String(decoding: data, as: UTF8.self).split(separator: "\n").first.map(String.init) ?? "qemu (version unknown)"
    }
}
