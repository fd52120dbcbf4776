import BlockStore
import Foundation
import Schedule
import Testing

@Suite("Cron expressions: parsing")
struct CronParseTests {
    @Test(arguments: [
        "* * * * *", "*/15 * * * *", "0 1-5/2 * * *", "5/20 * * * *", "0,30 9-17 * * MON-FRI",
        "0 0 1 jan,Jul *", "0 0 * * sun", "0 0 * * 7", "0 0 * * 0-7", "0 0 * * MON-SUN",
        "  0 2 * * *  ", "0\t2 * * *", "0 0 29 2 *", "0 0 30 2 MON", "@daily", "@HOURLY", "@weekly",
        "@monthly", "@yearly", "@annually", "@midnight", "59 23 31 DEC SAT",
    ])
    func accepts(_ text: String) throws {
        let expression = try CronExpression(text)
        #expect(expression.source == text.trimmingCharacters(in: .whitespaces))
        #expect(expression.next(after: iso("2024-01-01T00:00:00Z"), in: utc) != nil)
    }

    @Test(arguments: [
        ("60 * * * *", CronField.minute), ("-1 * * * *", .minute), ("+5 * * * *", .minute),
        ("*/0 * * * *", .minute), ("5-1 * * * *", .minute), ("1,,2 * * * *", .minute),
        ("1-2-3 * * * *", .minute), ("1/2/3 * * * *", .minute), ("*/61 * * * *", .minute), ("x * * * *", .minute),
        ("* 24 * * *", .hour), ("* 1-25 * * *", .hour), ("* MON * * *", .hour),
        ("* * 0 * *", .dayOfMonth), ("* * 32 * *", .dayOfMonth), ("* * L * *", .dayOfMonth),
        ("0 0 30 2 *", .dayOfMonth), ("0 0 31 4,6,9,11 *", .dayOfMonth), ("0 0 30-31 FEB *", .dayOfMonth),
        ("* * * 0 *", .month), ("* * * 13 *", .month), ("* * * FOO *", .month), ("* * * JANUARY *", .month),
        ("* * * DEC-JAN *", .month),
        ("* * * * 8", .dayOfWeek), ("* * * * MOO", .dayOfWeek), ("* * * * FRI-MON", .dayOfWeek),
        ("* * * * 1#2", .dayOfWeek), ("* * * * JAN", .dayOfWeek),
    ])
    func refusesNamingTheField(_ text: String, _ field: CronField) {
        let error = syntaxError(text)
        #expect(error?.field == field, "\(text)")
        #expect(error.map { "\($0)".contains("\(field)") } == true)
    }

    @Test(arguments: ["* * * *", "* * * * * *", "", "@reboot", "@every5m", "@"])
    func refusesTheWholeExpression(_ text: String) {
        let error = syntaxError(text)
        #expect(error != nil)
        #expect(error?.field == nil)
    }

    @Test func errorIsAnUnderstudyErrorNamingFieldAndToken() {
        do {
            _ = try CronExpression("0 25 * * *")
            Issue.record("accepted an hour of 25")
        } catch {
            #expect(error.code == .invalidArgument)
            #expect(error.message.contains("hour field '25'"))
            #expect(error.message.contains("0-23"))
        }
    }

    /// Different spellings of one schedule fire at the same times.
    @Test(arguments: [
        ("@daily", "0 0 * * *"), ("@midnight", "0 0 * * *"), ("@hourly", "0 * * * *"),
        ("@weekly", "0 0 * * 0"), ("@monthly", "0 0 1 * *"), ("@yearly", "0 0 1 1 *"), ("@annually", "0 0 1 1 *"),
        ("0 0 * * 7", "0 0 * * 0"), ("0 0 * * sun", "0 0 * * 0"), ("0 0 * * Mon-Fri", "0 0 * * 1,2,3,4,5"),
        ("0 0 * * 0-7", "0 0 * * *"), ("0 0 * * 5-7", "0 0 * * 0,5,6"), ("0 0 * * MON-SUN", "0 0 * * *"),
        ("0 0 1 jan,Jul *", "0 0 1 1,7 *"), ("0 0 1 */3 *", "0 0 1 1,4,7,10 *"),
        ("5/20 * * * *", "5,25,45 * * * *"), ("0 1-5/2 * * *", "0 1,3,5 * * *"), ("*/15 * * * *", "0-59/15 * * * *"),
        ("0 */6 * * *", "0 0,6,12,18 * * *"), ("0 0 * * */2", "0 0 * * 0,2,4,6"),
    ])
    func equivalentSpellings(_ a: String, _ b: String) throws {
        let start = "2024-02-27T13:07:00Z"
        #expect(try runs(a, after: start, count: 60) == runs(b, after: start, count: 60))
    }

    @Test func matchesReadsWallTimeInTheZone() throws {
        let nightly = try cron("0 2 * * *")
        #expect(nightly.matches(iso("2025-06-01T02:00:30+02:00"), in: berlin))
        #expect(!nightly.matches(iso("2025-06-01T02:00:30Z"), in: berlin))
        #expect(nightly.matches(iso("2025-06-01T02:00:30Z"), in: utc))
    }

    @Test func codableAsItsText() throws {
        let schedule = JobSchedule(key: JobKey(machine: "web", kind: .verify), cron: try cron("30 2 * * MON-FRI"),
                                   since: iso("2025-01-01T00:00:00Z"))
        let json = try JSONEncoder().encode(schedule)
        #expect(String(decoding: json, as: UTF8.self).contains("\"30 2 * * MON-FRI\""))
        #expect(try JSONDecoder().decode(JobSchedule.self, from: json) == schedule)
        #expect(throws: DecodingError.self) { try JSONDecoder().decode([CronExpression].self, from: Data(#"["0 25 * * *"]"#.utf8)) }
    }
}
