import Foundation

/// A wall-clock minute (what a clock on the wall shows), with calendar arithmetic done by hand in
/// the proleptic Gregorian calendar so that the search for the next run never goes through
/// Foundation's calendar (slow, and its answers for nonexistent local times vary by platform).
struct LocalTime: Hashable, Comparable, Sendable, CustomStringConvertible {
    var year: Int
    var month: Int
    var day: Int
    var hour: Int
    var minute: Int

    /// Seconds since 1970-01-01 00:00 of this wall time read as if it were UTC.
    var wallSeconds: Int {
        (Self.daysFromCivil(year, month, day) * 24 + hour) * 3600 + minute * 60
    }

    /// The wall time `wallSeconds` seconds after 1970-01-01 00:00, truncated to the minute.
    init(wallSeconds: Int) {
        let days = wallSeconds.floorDiv(86_400)
        let rest = wallSeconds - days * 86_400
        (year, month, day) = Self.civil(fromDays: days)
        hour = rest / 3600
        minute = rest % 3600 / 60
    }

    init(year: Int, month: Int, day: Int, hour: Int, minute: Int) {
        self.year = year; self.month = month; self.day = day; self.hour = hour; self.minute = minute
    }

    /// The wall time of `date` in `zone`, truncated to the minute.
    init(_ date: Date, in zone: TimeZone) {
        let seconds = Int(date.timeIntervalSince1970.rounded(.down))
        self.init(wallSeconds: seconds + zone.secondsFromGMT(for: Date(timeIntervalSince1970: Double(seconds))))
    }

    /// 0 = Sunday … 6 = Saturday.
    var weekday: Int { (Self.daysFromCivil(year, month, day) + 4).floorMod(7) }

    static func < (a: LocalTime, b: LocalTime) -> Bool { a.wallSeconds < b.wallSeconds }

    var description: String {
        func two(_ n: Int) -> String { n < 10 ? "0\(n)" : "\(n)" }
        return "\(year)-\(two(month))-\(two(day)) \(two(hour)):\(two(minute))"
    }

    static func isLeap(_ year: Int) -> Bool { year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) }

    static func daysIn(_ year: Int, _ month: Int) -> Int {
        switch month {
        case 2: isLeap(year) ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }

    // Howard Hinnant's days_from_civil / civil_from_days.
    static func daysFromCivil(_ y0: Int, _ m: Int, _ d: Int) -> Int {
        let y = m <= 2 ? y0 - 1 : y0
        let era = y.floorDiv(400)
        let yoe = y - era * 400
        let doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    static func civil(fromDays z0: Int) -> (Int, Int, Int) {
        let z = z0 + 719_468
        let era = z.floorDiv(146_097)
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        return (yoe + era * 400 + (m <= 2 ? 1 : 0), m, d)
    }
}

/// How one wall time maps onto real time in a zone.
enum WallMapping: Equatable {
    /// The usual case: one instant.
    case unique(Int)
    /// Clocks were set back: the wall time happened twice (first at the earlier offset).
    case repeated(first: Int, second: Int)
    /// Clocks were set forward over it: it never happened. `resumes` is the instant the clocks
    /// jumped, the first instant after the gap.
    case skipped(resumes: Int)
}

extension TimeZone {
    func offset(at seconds: Int) -> Int { secondsFromGMT(for: Date(timeIntervalSince1970: Double(seconds))) }

    /// The instants (seconds since the epoch) at which the clock in this zone shows `wall`.
    func instants(of wall: LocalTime) -> WallMapping {
        let w = wall.wallSeconds
        // Offsets change at most once within two days in every zone we care about.
        let offsets = Set([offset(at: w - 86_400), offset(at: w), offset(at: w + 86_400)])
        let valid = offsets.map { w - $0 }.filter { w - offset(at: $0) == $0 }.sorted()
        if valid.count >= 2 { return .repeated(first: valid[0], second: valid[valid.count - 1]) }
        if let only = valid.first { return .unique(only) }
        // In a gap: before the jump the offset was smaller. The jump lies in (w - maxOffset, w - minOffset].
        let low = w - offsets.max()!, high = w - offsets.min()!
        return .skipped(resumes: firstChange(after: low, upTo: high))
    }

    /// The first second in (low, high] whose offset differs from the offset at `low`.
    func firstChange(after low: Int, upTo high: Int) -> Int {
        let before = offset(at: low)
        var lo = low, hi = high // offset(lo) == before, offset(hi) != before
        while hi - lo > 1 {
            let mid = lo + (hi - lo) / 2
            if offset(at: mid) == before { lo = mid } else { hi = mid }
        }
        return hi
    }
}

extension Int {
    func floorDiv(_ d: Int) -> Int { (self >= 0 ? self : self - d + 1) / d }
    func floorMod(_ d: Int) -> Int { self - floorDiv(d) * d }
}
