public import Foundation

extension CronExpression {
    /// The first time strictly after `date` at which the expression fires in `zone`, or nil if
    /// it never fires again (within 50 years).
    ///
    /// Daylight-saving time, as Vixie cron and cronie handle it:
    /// - **Clocks go forward** (a wall time never happens, e.g. 02:30 on the last Sunday of March
    ///   in Europe/Berlin): a job due then runs once, at the instant the clocks jumped
    ///   (03:00 CEST). Several skipped times collapse into that one run.
    /// - **Clocks go back** (a wall time happens twice, e.g. 01:30 on the first Sunday of November
    ///   in America/New_York): a job at a fixed hour runs once, at the first occurrence. A job whose
    ///   hour field starts with `*` (every hour) also runs in the repeated hour, so `0 * * * *`
    ///   still fires every real hour.
    ///
    /// The search goes field by field through wall-clock time (never minute by minute), so it
    /// costs a few steps per month of distance.
    public func next(after date: Date, in zone: TimeZone = .current) -> Date? {
        let after = Int(date.timeIntervalSince1970.rounded(.down))
        var from = LocalTime(wallSeconds: LocalTime(date, in: zone).wallSeconds + 60)
        var found: Int?
        // Runs more than once only while walking through a repeated hour already passed once.
        while found == nil {
            guard let wall = nextWallTime(from: from) else { return nil }
            switch zone.instants(of: wall) {
            case .unique(let t), .skipped(resumes: let t):
                if t > after { found = t }
            case .repeated(let first, let second):
                if first > after { found = first } else if everyHour && second > after { found = second }
            }
            from = LocalTime(wallSeconds: wall.wallSeconds + 60)
        }
        var result = found!
        if everyHour, let second = secondPass(after: after, before: result, in: zone) {
            result = min(result, second)
        }
        return Date(timeIntervalSince1970: Double(result))
    }

    /// For an every-hour job: its first run in a repeated hour that starts between `after` and
    /// `before`, which the walk through wall time (first occurrences only) has passed over.
    private func secondPass(after: Int, before: Int, in zone: TimeZone) -> Int? {
        guard zone.offset(at: after) > zone.offset(at: before) else { return nil }
        let jump = zone.firstChange(after: after, upTo: before)
        let oldOffset = zone.offset(at: jump - 1), newOffset = zone.offset(at: jump)
        guard oldOffset > newOffset,
              let wall = nextWallTime(from: LocalTime(wallSeconds: jump + newOffset + 59), years: 1),
              wall.wallSeconds < jump + oldOffset else { return nil }
        let t = wall.wallSeconds - newOffset
        return t > after && t < before ? t : nil
    }

    /// The next `count` run times after `date`.
    public func nextRuns(after date: Date, count: Int, in zone: TimeZone = .current) -> [Date] {
        var runs: [Date] = []
        var t = date
        while runs.count < count, let next = next(after: t, in: zone) {
            runs.append(next)
            t = next
        }
        return runs
    }
}
