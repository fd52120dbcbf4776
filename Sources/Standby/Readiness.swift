import BlockStore
public import Foundation

/// Waits until a booting standby is ready, by its machine's probe.
public enum ReadinessProbe {
    /// Seconds until ready; throws `.interrupted` with what was seen if `timeout` passes first.
    public static func wait(for readiness: HardwareProfile.Readiness, serialLog: String, timeout: Double,
                            started: Date = Date(), isRunning: () -> Bool) throws -> Double {
        switch readiness {
        case .serial(let pattern):
            let regex = try Regex(pattern)
            while Date().timeIntervalSince(started) < timeout {
                if let text = try? String(contentsOfFile: serialLog, encoding: .utf8),
                   text.split(whereSeparator: \.isNewline).contains(where: { $0.contains(regex) }) {
                    return Date().timeIntervalSince(started)
                }
                guard isRunning() else {
                    throw StoreError(.interrupted, "the guest stopped before a serial line matched /\(pattern)/; console: \(tail(serialLog))")
                }
                Thread.sleep(forTimeInterval: 0.1)
            }
            throw StoreError(.interrupted, "not ready after \(Int(timeout)) s: no serial line matched /\(pattern)/; console: \(tail(serialLog))")
        case .port, .agent:
            throw StoreError(.unsupported, "readiness by \(readiness) is not implemented yet; use --ready-serial REGEX")
        }
    }

    /// The last lines of the console log, for messages.
    static func tail(_ path: String, lines: Int = 5) -> String {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8), !text.isEmpty else { return "(empty)" }
        return text.split(whereSeparator: \.isNewline).suffix(lines).joined(separator: " | ")
    }
}
