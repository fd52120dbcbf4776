import Foundation
import Schedule
import Testing

/// Next-run times checked by hand against a calendar. 2024-01-01 was a Monday, 2024-03-01 a Friday,
/// 2024-04-01 a Monday; 2100 is not a leap year.
@Suite("Cron expressions: next run")
struct CronNextTests {
    @Test func strictlyAfterAndOnTheMinute() throws {
        #expect(try runs("* * * * *", after: "2024-01-01T10:00:00Z", count: 2)
                == [iso("2024-01-01T10:01:00Z"), iso("2024-01-01T10:02:00Z")])
        #expect(try cron("* * * * *").next(after: iso("2024-01-01T10:00:30Z").addingTimeInterval(0.25), in: utc)
                == iso("2024-01-01T10:01:00Z"))
        #expect(try runs("30 * * * *", after: "2024-01-01T10:29:59Z", count: 1) == [iso("2024-01-01T10:30:00Z")])
    }

    @Test func stepsAndRanges() throws {
        #expect(try runs("*/15 */6 * * *", after: "2024-01-01T05:50:00Z", count: 5) == [
            iso("2024-01-01T06:00:00Z"), iso("2024-01-01T06:15:00Z"), iso("2024-01-01T06:30:00Z"),
            iso("2024-01-01T06:45:00Z"), iso("2024-01-01T12:00:00Z"),
        ])
        #expect(try runs("0 1-5/2 * * *", after: "2024-01-01T01:00:00Z", count: 3) == [
            iso("2024-01-01T03:00:00Z"), iso("2024-01-01T05:00:00Z"), iso("2024-01-02T01:00:00Z"),
        ])
        #expect(try runs("0,30 9-10 * * MON-FRI", after: "2024-01-05T10:30:00Z", count: 2) == [
            iso("2024-01-08T09:00:00Z"), iso("2024-01-08T09:30:00Z"), // Friday evening → Monday
        ])
    }

    @Test func monthEndsAndYearEnd() throws {
        #expect(try runs("0 0 31 * *", after: "2025-01-31T00:00:00Z", count: 3) == [
            iso("2025-03-31T00:00:00Z"), iso("2025-05-31T00:00:00Z"), iso("2025-07-31T00:00:00Z"),
        ])
        #expect(try runs("0 0 1 * *", after: "2024-01-31T12:00:00Z", count: 1) == [iso("2024-02-01T00:00:00Z")])
        #expect(try runs("59 23 31 12 *", after: "2024-06-01T00:00:00Z", count: 2) == [
            iso("2024-12-31T23:59:00Z"), iso("2025-12-31T23:59:00Z"),
        ])
        #expect(try runs("0 0 1 1 *", after: "2024-12-31T23:59:59Z", count: 1) == [iso("2025-01-01T00:00:00Z")])
        #expect(try runs("0 6 30 * *", after: "2024-01-30T06:00:00Z", count: 2) == [
            iso("2024-03-30T06:00:00Z"), iso("2024-04-30T06:00:00Z"), // no 30 February
        ])
    }

    @Test func leapDays() throws {
        #expect(try runs("0 12 29 2 *", after: "2024-03-01T00:00:00Z", count: 2) == [
            iso("2028-02-29T12:00:00Z"), iso("2032-02-29T12:00:00Z"),
        ])
        #expect(try runs("0 12 29 2 *", after: "2096-03-01T00:00:00Z", count: 1) == [iso("2104-02-29T12:00:00Z")])
        #expect(try runs("0 0 28-29 2 *", after: "2023-02-28T00:00:00Z", count: 3) == [
            iso("2024-02-28T00:00:00Z"), iso("2024-02-29T00:00:00Z"), iso("2025-02-28T00:00:00Z"),
        ])
    }

    /// Vixie: both day fields restricted → either matches; one starting with `*` → both must.
    @Test func dayOfMonthOrDayOfWeek() throws {
        #expect(try runs("30 8 15 * FRI", after: "2024-04-01T00:00:00Z", count: 4) == [
            iso("2024-04-05T08:30:00Z"), iso("2024-04-12T08:30:00Z"),
            iso("2024-04-15T08:30:00Z"), // a Monday, but the 15th
            iso("2024-04-19T08:30:00Z"),
        ])
        #expect(try runs("0 0 */2 * MON", after: "2024-04-01T00:00:00Z", count: 2) == [
            iso("2024-04-15T00:00:00Z"), iso("2024-04-29T00:00:00Z"), // odd days that are Mondays
        ])
        #expect(try runs("0 0 1 * *", after: "2024-04-01T00:00:00Z", count: 1) == [iso("2024-05-01T00:00:00Z")])
        #expect(try runs("0 0 * * 7", after: "2024-01-01T00:00:00Z", count: 2) == [
            iso("2024-01-07T00:00:00Z"), iso("2024-01-14T00:00:00Z"),
        ])
        #expect(try runs("0 0 30 FEB MON", after: "2024-01-01T00:00:00Z", count: 2) == [
            iso("2024-02-05T00:00:00Z"), iso("2024-02-12T00:00:00Z"),
        ])
    }

    @Test func namesAndMacros() throws {
        #expect(try runs("0 0 1 jan,Jul *", after: "2024-02-01T00:00:00Z", count: 2) == [
            iso("2024-07-01T00:00:00Z"), iso("2025-01-01T00:00:00Z"),
        ])
        #expect(try runs("@yearly", after: "2024-01-01T00:00:00Z", count: 1) == [iso("2025-01-01T00:00:00Z")])
        #expect(try runs("@weekly", after: "2024-01-01T00:00:00Z", count: 1) == [iso("2024-01-07T00:00:00Z")])
        #expect(try runs("@monthly", after: "2024-01-31T00:00:00Z", count: 1) == [iso("2024-02-01T00:00:00Z")])
        #expect(try runs("@hourly", after: "2024-01-01T10:00:00Z", count: 1) == [iso("2024-01-01T11:00:00Z")])
        #expect(try runs("@daily", after: "2024-02-28T00:00:00Z", count: 2) == [
            iso("2024-02-29T00:00:00Z"), iso("2024-03-01T00:00:00Z"),
        ])
    }

    @Test func wallTimeOfTheGivenZone() throws {
        #expect(try runs("0 2 * * *", after: "2025-06-01T00:00:00Z", count: 1, in: berlin) == [iso("2025-06-02T02:00:00+02:00")])
        #expect(try runs("0 2 * * *", after: "2025-01-15T00:00:00Z", count: 1, in: newYork) == [iso("2025-01-15T02:00:00-05:00")])
    }

    @Test func searchIsFieldByFieldNotMinuteByMinute() throws {
        // Each of these crosses years of minutes; a minute-by-minute search would take seconds each.
        let start = Date()
        let leap = try cron("0 12 29 2 *")
        for year in stride(from: 2001, to: 2401, by: 1) {
            let after = iso("\(year)-03-01T00:00:00Z")
            #expect(leap.next(after: after, in: utc).map { $0 > after } == true)
        }
        #expect(Date().timeIntervalSince(start) < 5)
    }

    // MARK: daylight-saving time

    /// Berlin 2025: 02:00 CET → 03:00 CEST on 30 March; 03:00 CEST → 02:00 CET on 26 October.
    @Test func berlinSpringForwardRunsOnceAtTheJump() throws {
        #expect(try runs("30 2 * * *", after: "2025-03-29T02:30:00+01:00", count: 3, in: berlin) == [
            iso("2025-03-30T03:00:00+02:00"), iso("2025-03-31T02:30:00+02:00"), iso("2025-04-01T02:30:00+02:00"),
        ])
        // Every half hour: 02:00 and 02:30 never happen and collapse into the 03:00 run.
        #expect(try runs("*/30 * * * *", after: "2025-03-30T01:00:00+01:00", count: 4, in: berlin) == [
            iso("2025-03-30T01:30:00+01:00"), iso("2025-03-30T03:00:00+02:00"),
            iso("2025-03-30T03:30:00+02:00"), iso("2025-03-30T04:00:00+02:00"),
        ])
    }

    @Test func berlinFallBackRunsOnce() throws {
        #expect(try runs("30 2 * * *", after: "2025-10-25T02:30:00+02:00", count: 2, in: berlin) == [
            iso("2025-10-26T02:30:00+02:00"), iso("2025-10-27T02:30:00+01:00"),
        ])
        // Asked during the second pass through 02:xx, the day's run is already behind.
        #expect(try cron("30 2 * * *").next(after: iso("2025-10-26T02:10:00+01:00"), in: berlin)
                == iso("2025-10-27T02:30:00+01:00"))
        // Every hour keeps firing every real hour.
        #expect(try runs("0 * * * *", after: "2025-10-26T01:30:00+02:00", count: 3, in: berlin) == [
            iso("2025-10-26T02:00:00+02:00"), iso("2025-10-26T02:00:00+01:00"), iso("2025-10-26T03:00:00+01:00"),
        ])
    }

    /// New York 2025: 02:00 EST → 03:00 EDT on 9 March; 02:00 EDT → 01:00 EST on 2 November.
    @Test func newYorkTransitions() throws {
        #expect(try runs("30 2 * * *", after: "2025-03-08T02:30:00-05:00", count: 2, in: newYork) == [
            iso("2025-03-09T03:00:00-04:00"), iso("2025-03-10T02:30:00-04:00"),
        ])
        #expect(try runs("30 1 * * *", after: "2025-11-01T01:30:00-04:00", count: 2, in: newYork) == [
            iso("2025-11-02T01:30:00-04:00"), iso("2025-11-03T01:30:00-05:00"),
        ])
        #expect(try runs("0 2 * * *", after: "2025-11-01T02:00:00-04:00", count: 2, in: newYork) == [
            iso("2025-11-02T02:00:00-05:00"), iso("2025-11-03T02:00:00-05:00"),
        ])
        #expect(try runs("0,30 * * * *", after: "2025-11-02T00:30:00-04:00", count: 6, in: newYork) == [
            iso("2025-11-02T01:00:00-04:00"), iso("2025-11-02T01:30:00-04:00"),
            iso("2025-11-02T01:00:00-05:00"), iso("2025-11-02T01:30:00-05:00"),
            iso("2025-11-02T02:00:00-05:00"), iso("2025-11-02T02:30:00-05:00"),
        ])
        // A fixed-hour job with stepped minutes runs through the first pass only.
        #expect(try runs("*/20 1 * * *", after: "2025-11-02T00:00:00-04:00", count: 4, in: newYork) == [
            iso("2025-11-02T01:00:00-04:00"), iso("2025-11-02T01:20:00-04:00"),
            iso("2025-11-02T01:40:00-04:00"), iso("2025-11-03T01:00:00-05:00"),
        ])
    }

    /// Samoa skipped 30 December 2011 entirely (UTC-10 → UTC+14): that day's noon run happens once,
    /// as the clocks jump, and the next day's as usual.
    @Test func aWholeDaySkipped() throws {
        let apia = try #require(TimeZone(identifier: "Pacific/Apia"))
        #expect(try runs("0 12 * * *", after: "2011-12-29T12:00:00-10:00", count: 2, in: apia) == [
            iso("2011-12-31T00:00:00+14:00"), iso("2011-12-31T12:00:00+14:00"),
        ])
    }
}
