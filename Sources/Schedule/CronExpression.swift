public import Foundation
public import Core

/// A standard five-field cron schedule: `minute hour day-of-month month day-of-week`.
///
/// Each field takes `*`, a number, a range `A-B`, a step `*/N`, `A-B/N` or `A/N` (= `A-max/N`),
/// or a comma-separated list of these. Months take JAN–DEC and weekdays SUN–SAT (any case);
/// both 0 and 7 are Sunday. `@yearly` (`@annually`), `@monthly`, `@weekly`, `@daily`
/// (`@midnight`) and `@hourly` stand for their usual expansions.
///
/// Days follow Vixie cron: when both day-of-month and day-of-week are restricted (neither field
/// starts with `*`), a day matches if *either* does (`0 2 1 * MON`: the 1st and every Monday);
/// otherwise both must match (`0 2 */2 * MON`: odd-numbered days that are Mondays).
///
/// An expression that can never fire, such as `0 0 30 FEB *`, is refused when parsed.
///
/// Times are wall-clock times in a time zone; `next(after:in:)` documents what happens when
/// daylight-saving time skips or repeats them.
public struct CronExpression: Sendable, Hashable, CustomStringConvertible {
    /// The expression as written (trimmed).
    public let source: String
    let minutes: CronValueSet
    let hours: CronValueSet
    let days: CronValueSet
    let months: CronValueSet
    let weekdays: CronValueSet
    /// Vixie's rule: a day field "restricts" unless its text starts with `*`.
    let daysRestricted: Bool
    let weekdaysRestricted: Bool
    /// The hour field starts with `*`: the job runs every hour, and keeps doing so through the
    /// hour that is repeated when clocks go back.
    let everyHour: Bool

    private static let macros: [String: String] = [
        "@yearly": "0 0 1 1 *", "@annually": "0 0 1 1 *", "@monthly": "0 0 1 * *",
        "@weekly": "0 0 * * 0", "@daily": "0 0 * * *", "@midnight": "0 0 * * *", "@hourly": "0 * * * *",
    ]

    /// Parses `text`; throws `UnderstudyError(.invalidArgument)` naming the bad field, with a
    /// `CronSyntaxError` as its `underlying` error.
    public init(_ text: String) throws(UnderstudyError) {
        do {
            try self.init(parsing: text)
        } catch {
            throw UnderstudyError(.invalidArgument, "invalid cron expression '\(text)': \(error)", underlying: error)
        }
    }

    private init(parsing text: String) throws(CronSyntaxError) {
        source = text.trimmingCharacters(in: .whitespaces)
        var expanded = source
        if source.hasPrefix("@") {
            guard let macro = Self.macros[source.lowercased()] else {
                let reason = source.lowercased() == "@reboot"
                    ? "@reboot is not a time schedule" : "unknown macro; use @yearly, @monthly, @weekly, @daily or @hourly"
                throw CronSyntaxError(field: nil, token: source, reason: reason)
            }
            expanded = macro
        }
        let fields = expanded.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
        guard fields.count == 5 else {
            throw CronSyntaxError(field: nil, token: source,
                                  reason: "expected 5 fields (minute hour day-of-month month day-of-week), found \(fields.count)")
        }
        minutes = try .parse(fields[0], field: .minute)
        hours = try .parse(fields[1], field: .hour)
        days = try .parse(fields[2], field: .dayOfMonth)
        months = try .parse(fields[3], field: .month)
        weekdays = try .parse(fields[4], field: .dayOfWeek)
        daysRestricted = !fields[2].hasPrefix("*")
        weekdaysRestricted = !fields[4].hasPrefix("*")
        everyHour = fields[1].hasPrefix("*")
        // With the weekday unrestricted, only the day of month decides: it must exist in some chosen month.
        if !(daysRestricted && weekdaysRestricted), let first = days.min,
           !(1...12).contains(where: { months.contains($0) && first <= LocalTime.daysIn(2000, $0) }) {
            throw CronSyntaxError(field: .dayOfMonth, token: fields[2],
                                  reason: "day \(first) never occurs in month(s) \(fields[3]); the job would never run")
        }
    }

    public var description: String { source }

    /// Whether the expression fires on `day` (Vixie's day-of-month / day-of-week rule).
    func dayMatches(_ t: LocalTime) -> Bool {
        let byDay = days.contains(t.day)
        let byWeekday = weekdays.contains(t.weekday)
        return daysRestricted && weekdaysRestricted ? byDay || byWeekday : byDay && byWeekday
    }

    /// Whether the wall time `t` (seconds ignored) matches every field.
    func matches(_ t: LocalTime) -> Bool {
        months.contains(t.month) && dayMatches(t) && hours.contains(t.hour) && minutes.contains(t.minute)
    }

    /// Whether the wall-clock minute of `date` in `zone` matches the expression.
    public func matches(_ date: Date, in zone: TimeZone = .current) -> Bool {
        matches(LocalTime(date, in: zone))
    }

    /// The first matching wall time at or after `start`, within `years` years; field by field, so a
    /// search costs at most a few steps per month rather than one per minute.
    func nextWallTime(from start: LocalTime, years: Int = 50) -> LocalTime? {
        var t = start
        let lastYear = start.year + years
        while t.year <= lastYear {
            if !months.contains(t.month) || t.day > LocalTime.daysIn(t.year, t.month) {
                t = LocalTime(year: t.month == 12 ? t.year + 1 : t.year, month: t.month % 12 + 1, day: 1, hour: 0, minute: 0)
                continue
            }
            guard dayMatches(t), let hour = hours.next(atLeast: t.hour) else {
                t.day += 1; t.hour = 0; t.minute = 0
                continue
            }
            if hour != t.hour { t.hour = hour; t.minute = 0 }
            guard let minute = minutes.next(atLeast: t.minute) else {
                t.hour += 1; t.minute = 0
                if t.hour == 24 { t.day += 1; t.hour = 0 }
                continue
            }
            t.minute = minute
            return t
        }
        return nil
    }
}

/// Encoded as its text (for `--json` output and stored settings); decoding validates it.
extension CronExpression: Codable {
    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let text = try container.decode(String.self)
        do {
            try self.init(text)
        } catch {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: error.message)
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(source)
    }
}
