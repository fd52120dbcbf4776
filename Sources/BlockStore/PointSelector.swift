public import Foundation
import Core

/// How a user names a point: `latest`, a point id, or `@TIME` (the newest point at or before it).
public enum PointSelector: Sendable, Equatable, CustomStringConvertible {
    case latest
    case id(Int64)
    case atOrBefore(Date)

    public init(parsing text: String) throws {
        if text == "latest" {
            self = .latest
        } else if let id = Int64(text), id > 0 {
            self = .id(id)
        } else if text.hasPrefix("@"), let date = Self.parseTime(String(text.dropFirst())) {
            self = .atOrBefore(date)
        } else {
            throw UnderstudyError(.invalidArgument, "invalid point '\(text)': use latest, a point id, or @TIME (ISO 8601, e.g. @2026-11-21T02:00:00Z)")
        }
    }

    public var description: String {
        switch self {
        case .latest: "latest"
        case .id(let id): String(id)
        case .atOrBefore(let date): "@" + ISO8601DateFormatter().string(from: date)
        }
    }

    /// ISO 8601 with or without fractional seconds or zone (no zone = UTC); a bare date means its end.
    static func parseTime(_ text: String) -> Date? {
        let full = ISO8601DateFormatter()
        if let d = full.date(from: text) { return d }
        let fractional = ISO8601DateFormatter()
        fractional.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        if let d = fractional.date(from: text) { return d }
        if let d = full.date(from: text + "Z") { return d }
        let dateOnly = ISO8601DateFormatter()
        dateOnly.formatOptions = [.withFullDate]
        if let d = dateOnly.date(from: text) { return d.addingTimeInterval(86_400 - 0.001) }
        return nil
    }

    /// Picks the point among `points` (of one machine).
    public func select(from points: [RecoveryPoint], machine: String) throws -> RecoveryPoint {
        let found: RecoveryPoint?
        switch self {
        case .latest: found = points.max { ($0.time, $0.id ?? 0) < ($1.time, $1.id ?? 0) }
        case .id(let id): found = points.first { $0.id == id }
        case .atOrBefore(let date): found = points.filter { $0.time <= date }.max { ($0.time, $0.id ?? 0) < ($1.time, $1.id ?? 0) }
        }
        guard let found else {
            let what = points.isEmpty ? "machine '\(machine)' has no points" : "machine '\(machine)' has no point \(self)"
            throw UnderstudyError(.notFound, what + " (list them with `understudy points \(machine)`)", at: .init(machine: machine))
        }
        return found
    }
}
