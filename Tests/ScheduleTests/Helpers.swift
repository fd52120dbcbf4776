import BlockStore
import Foundation
import Schedule
import Synchronization
import Testing
import TestSupport

/// An instant written with its offset, e.g. "2025-03-30T03:00:00+02:00", so every expected value
/// in these tests can be checked by hand against a calendar.
func iso(_ text: String) -> Date {
    let formatter = ISO8601DateFormatter()
    formatter.formatOptions = [.withInternetDateTime]
    guard let date = formatter.date(from: text) else { fatalError("bad test date \(text)") }
    return date
}

let utc = TimeZone(identifier: "UTC")!
let berlin = TimeZone(identifier: "Europe/Berlin")!
let newYork = TimeZone(identifier: "America/New_York")!

func cron(_ text: String) throws -> CronExpression { try CronExpression(text) }

/// The next `count` runs after `start`, as instants.
func runs(_ text: String, after start: String, count: Int, in zone: TimeZone = utc) throws -> [Date] {
    try cron(text).nextRuns(after: iso(start), count: count, in: zone)
}

/// The `CronSyntaxError` behind a refused expression.
func syntaxError(_ text: String) -> CronSyntaxError? {
    do {
        _ = try CronExpression(text)
        return nil
    } catch {
        #expect(error.code == .invalidArgument)
        return error.underlying as? CronSyntaxError
    }
}

/// What a test runner saw, in order, and how each job should behave.
final class RunLog: Sendable {
    private let entries = Mutex<[DueJob]>([])
    var jobs: [DueJob] { entries.withLock { $0 } }
    var names: [String] { jobs.map { "\($0.kind) \($0.machine)" } }
    func append(_ job: DueJob) { entries.withLock { $0.append(job) } }
}

struct JobFailure: Error, CustomStringConvertible {
    var description: String { "standby image could not be written" }
}

/// A scheduler over a fresh store file with a manual clock, and a runner that logs each job,
/// takes `duration` seconds of clock time, and fails for the jobs listed in `failing`.
struct Harness {
    let dir: TempDir
    let clock: ManualClock
    let log = RunLog()
    var store: ScheduleStore
    var scheduler: Scheduler

    init(start: String, zone: TimeZone = utc, catchUp: CatchUpPolicy = .default,
         duration: TimeInterval = 60, failing: Set<JobKey> = [], dir: TempDir = TempDir("schedule")) throws {
        self.dir = dir
        clock = ManualClock(iso(start))
        store = try ScheduleStore(path: dir.file("catalog.sqlite"))
        scheduler = Self.scheduler(store: store, clock: clock, log: log, zone: zone, catchUp: catchUp,
                                   duration: duration, failing: failing)
    }

    static func scheduler(store: ScheduleStore, clock: ManualClock, log: RunLog, zone: TimeZone,
                          catchUp: CatchUpPolicy, duration: TimeInterval, failing: Set<JobKey>) -> Scheduler {
        Scheduler(store: store, clock: clock, timeZone: zone, catchUp: catchUp, recheckInterval: 30 * 86_400) { job in
            log.append(job)
            clock.advance(by: duration)
            if failing.contains(job.key) { throw JobFailure() }
            return "\(job.kind) of \(job.machine) done"
        }
    }

    /// A new store handle and scheduler over the same file: what a restarted `serve` sees.
    mutating func restart(zone: TimeZone = utc, catchUp: CatchUpPolicy = .default, duration: TimeInterval = 60) throws {
        store = try ScheduleStore(path: dir.file("catalog.sqlite"))
        scheduler = Self.scheduler(store: store, clock: clock, log: log, zone: zone, catchUp: catchUp,
                                   duration: duration, failing: [])
    }

    func set(_ machine: String, _ kind: JobKind, _ text: String, at time: String? = nil) throws {
        try store.setSchedule(JobKey(machine: machine, kind: kind), cron: cron(text), enabled: true,
                              now: time.map(iso) ?? clock.now)
    }

    /// Runs due jobs at `time` (the clock is moved there first).
    @discardableResult
    func pass(at time: String) async throws -> [JobRun] {
        clock.advance(to: iso(time))
        return try await scheduler.runDue()
    }

    /// Steps `scheduler.run(until:)` through every sleep until `end`, then returns.
    func serve(until end: String) async throws {
        let deadline = iso(end)
        let loop = Task { [scheduler] in try await scheduler.run(until: deadline) }
        while clock.now < deadline {
            guard let wake = await clock.nextSleep() else {
                Issue.record("the scheduler loop did not sleep")
                loop.cancel()  // else awaiting it below would wait for a wake-up that never comes
                break
            }
            clock.advance(to: wake)
        }
        try await loop.value
    }
}
