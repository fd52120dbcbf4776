import Core
/// One of the five fields of a cron expression, in the order they are written.
public enum CronField: Int, Sendable, CaseIterable, CustomStringConvertible {
    case minute, hour, dayOfMonth, month, dayOfWeek

    public var description: String {
        switch self {
        case .minute: "minute"
        case .hour: "hour"
        case .dayOfMonth: "day-of-month"
        case .month: "month"
        case .dayOfWeek: "day-of-week"
        }
    }

    /// The values the field accepts as written; day-of-week accepts 7 as a second Sunday.
    var range: ClosedRange<Int> {
        switch self {
        case .minute: 0...59
        case .hour: 0...23
        case .dayOfMonth: 1...31
        case .month: 1...12
        case .dayOfWeek: 0...7
        }
    }

    /// Names accepted in place of numbers, case-insensitive.
    var names: [String: Int] {
        switch self {
        case .month:
            ["JAN": 1, "FEB": 2, "MAR": 3, "APR": 4, "MAY": 5, "JUN": 6,
             "JUL": 7, "AUG": 8, "SEP": 9, "OCT": 10, "NOV": 11, "DEC": 12]
        case .dayOfWeek:
            ["SUN": 0, "MON": 1, "TUE": 2, "WED": 3, "THU": 4, "FRI": 5, "SAT": 6]
        default:
            [:]
        }
    }
}

/// Why a cron expression was refused: which field, which part of it, and why. Carried as the
/// `underlying` error of the `UnderstudyError(.invalidArgument, …)` that parsing throws.
public struct CronSyntaxError: Error, Sendable, CustomStringConvertible {
    /// The offending field; nil when the expression as a whole is wrong (field count, unknown macro).
    public var field: CronField?
    /// The part of the expression that was refused.
    public var token: String
    public var reason: String

    public var description: String {
        if let field { return "\(field) field '\(token)': \(reason)" }
        return "'\(token)': \(reason)"
    }
}

/// The set of values one field matches, as a bit mask (bit n set: value n matches).
struct CronValueSet: Hashable, Sendable {
    private(set) var bits: UInt64 = 0

    func contains(_ value: Int) -> Bool { value >= 0 && value < 64 && bits & (1 << UInt64(value)) != 0 }
    mutating func insert(_ value: Int) { bits |= 1 << UInt64(value) }
    var isEmpty: Bool { bits == 0 }
    var min: Int? { bits == 0 ? nil : bits.trailingZeroBitCount }
    var max: Int? { bits == 0 ? nil : 63 - bits.leadingZeroBitCount }

    /// The smallest member at least `value`, if any.
    func next(atLeast value: Int) -> Int? {
        guard value < 64 else { return nil }
        let rest = bits & (UInt64.max << UInt64(Swift.max(value, 0)))
        return rest == 0 ? nil : rest.trailingZeroBitCount
    }

    /// Parses one field's text: comma-separated `*`, `N`, `A-B`, each optionally `/STEP`.
    /// `N/STEP` means `N-max/STEP`, as most modern crons read it.
    static func parse(_ text: String, field: CronField) throws(CronSyntaxError) -> CronValueSet {
        var set = CronValueSet()
        func fail(_ token: some StringProtocol, _ reason: String) -> CronSyntaxError {
            CronSyntaxError(field: field, token: String(token), reason: reason)
        }
        for element in text.split(separator: ",", omittingEmptySubsequences: false) {
            guard !element.isEmpty else { throw fail(text, "empty list element") }
            let parts = element.split(separator: "/", omittingEmptySubsequences: false)
            guard parts.count <= 2 else { throw fail(element, "more than one '/'") }
            var step = 1
            if parts.count == 2 {
                guard let n = Int(parts[1]), n >= 1, n <= field.range.upperBound else {
                    throw fail(element, "step '\(parts[1])' must be a number from 1 to \(field.range.upperBound)")
                }
                step = n
            }
            let base = parts[0]
            var low: Int, high: Int
            if base == "*" {
                low = field.range.lowerBound
                high = field == .dayOfWeek ? 6 : field.range.upperBound
            } else {
                let bounds = base.split(separator: "-", omittingEmptySubsequences: false)
                guard bounds.count <= 2 else { throw fail(element, "more than one '-'") }
                low = try value(bounds[0], field: field, element: element)
                if bounds.count == 2 {
                    high = try value(bounds[1], field: field, element: element)
                    // MON-SUN: a Sunday that ends a range is the 7 at the end of the week.
                    if field == .dayOfWeek && high == 0 && low > 0 { high = 7 }
                    guard low <= high else { throw fail(element, "range \(base) runs backwards") }
                } else {
                    // A lone value: a single value, or the start of an open range when stepped.
                    high = parts.count == 2 ? field.range.upperBound : low
                }
            }
            for v in stride(from: low, through: high, by: step) {
                set.insert(field == .dayOfWeek && v == 7 ? 0 : v)
            }
        }
        return set
    }

    private static func value(_ token: Substring, field: CronField, element: Substring) throws(CronSyntaxError) -> Int {
        if !token.isEmpty, token.allSatisfy({ $0.isASCII && $0.isNumber }), let n = Int(token) {
            guard field.range.contains(n) else {
                throw CronSyntaxError(field: field, token: String(element),
                                      reason: "\(n) is out of range \(field.range.lowerBound)-\(field.range.upperBound)")
            }
            return n
        }
        if let n = field.names[token.uppercased()] { return n }
        let hint = field.names.isEmpty ? "a number" : "a number or a name like \(field == .month ? "JAN" : "MON")"
        throw CronSyntaxError(field: field, token: String(element), reason: "'\(token)' is not \(hint)")
    }
}
