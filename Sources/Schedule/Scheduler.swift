public import Foundation

/// Runs each machine's scheduled jobs (build standby, verify) at their cron times, for
/// `understudy serve`; `understudy schedule list` uses `plannedJobs()`.
///
/// ## Guarantees
/// - **At most once per slot.** Before a job starts, its slot is claimed in the `JobStore`
///   (`lastFired` moves forward and a `.running` run record is written, in one transaction); the
///   outcome is recorded after. A crash or restart mid-job therefore never runs that slot again:
///   the next start marks the run `.interrupted` and the job waits for its next slot. We prefer
///   this to at-least-once because a half-done standby build is repaired by the next build
///   anyway, while running the same work twice on restart loops could keep a host busy forever.
/// - **Missed slots** follow `CatchUpPolicy`: at most one catch-up run, for the latest missed
///   slot, never a burst.
/// - **Order.** Jobs due together run one after another (standby builds are heavy; two cores
///   do not gain from running them at once): machines by their earliest due slot, and for each
///   machine `build` before `verify`. A failing job is recorded as `.failed` and the others still run.
/// - Each job is claimed only when its turn comes, so a crash while one job runs leaves the jobs
///   after it owed, not lost.
/// - Schedules are re-read from the store on every pass, so `schedule set` from another
///   process takes effect within `recheckInterval`.
///
/// Times are wall-clock times in `timeZone`; see `CronExpression.next(after:in:)` for DST.
public final class Scheduler: Sendable {
    /// Does the work of one job. The returned text, or the error thrown, becomes the run's message.
    public typealias Runner = @Sendable (DueJob) async throws -> String?

    public let store: any JobStore
    public let clock: any SchedulerClock
    public let timeZone: TimeZone
    public let catchUp: CatchUpPolicy
    /// The longest `run(until:)` sleeps before looking at the schedules again.
    public let recheckInterval: TimeInterval
    /// Where `runDue` and `run` make their store calls.
    public let lane: any BlockingLane
    private let runner: Runner

    public init(store: any JobStore, clock: any SchedulerClock = SystemClock(), timeZone: TimeZone = .current,
                catchUp: CatchUpPolicy = .default, recheckInterval: TimeInterval = 60, lane: any BlockingLane = InPlaceLane(),
                runner: @escaping Runner) {
        self.store = store
        self.lane = lane
        self.clock = clock
        self.timeZone = timeZone
        self.catchUp = catchUp
        self.recheckInterval = recheckInterval
        self.runner = runner
    }

    /// A job owed a slot at the time of a pass.
    private struct Owed {
        var schedule: JobSchedule
        var slots: OwedSlots
    }

    /// Runs every job due at `now` (default: the clock's time) once, in order, and records each
    /// run; slots given up under the catch-up policy are recorded as `.missed`. Returns the
    /// records written, in order. Throws only for store failures and cancellation (a job
    /// cancelled mid-run is recorded as `.interrupted`, and the jobs after it stay owed).
    @discardableResult
    public func runDue(now: Date? = nil) async throws -> [JobRun] {
        let now = now ?? clock.now
        let store = self.store
        let owed = try await lane.run { try store.schedules() }.filter(\.enabled).compactMap { schedule in
            OwedSlots(schedule.cron, after: schedule.baseline, upTo: now, in: timeZone).map { Owed(schedule: schedule, slots: $0) }
        }
        // Machines in order of the earliest slot they run for (ties by name); build before verify.
        let machineSlot = Dictionary(owed.map { ($0.schedule.key.machine, $0.slots.latest) }, uniquingKeysWith: min)
        let ordered = owed.sorted {
            let a = $0.schedule.key, b = $1.schedule.key
            return (machineSlot[a.machine]!, a.machine, a.kind) < (machineSlot[b.machine]!, b.machine, b.kind)
        }
        var records: [JobRun] = []
        for job in ordered {
            try Task.checkCancellation()
            records += try await resolve(job, now: now)
        }
        return records
    }

    /// Runs one owed job's latest slot, or gives its slots up, per the catch-up policy.
    private func resolve(_ job: Owed, now: Date) async throws -> [JobRun] {
        let key = job.schedule.key, slots = job.slots
        let late = now.timeIntervalSince(slots.latest)
        let period = slots.following.map { $0.timeIntervalSince(slots.latest) } ?? .infinity
        guard catchUp.runs(late: late, period: period) else {
            let message = missed(slots.count, from: slots.first, through: slots.latest)
                + "; more than \(Int(catchUp.maxLateness * 100))% of the period late, so it waits for its next slot"
            let record = try await claim(key, slot: slots.latest, now: now, outcome: .missed, message: message)
            return record.map { [$0] } ?? []
        }
        var records: [JobRun] = []
        if slots.count > 1 {
            let message = missed(slots.count - 1, from: slots.first, through: nil)
                + "; caught up once with the run due at \(format(slots.latest))"
            if let record = try await claim(key, slot: slots.first, now: now, outcome: .missed, message: message) {
                records.append(record)
            }
        }
        if let run = try await start(DueJob(key: key, scheduledFor: slots.latest)) { records.append(run) }
        return records
    }

    /// Claims the job's slot, runs it and records how it ended; nil if the slot was already claimed.
    private func start(_ job: DueJob) async throws -> JobRun? {
        guard let run = try await claim(job.key, slot: job.scheduledFor, now: clock.now, outcome: .running, message: nil) else {
            return nil
        }
        let outcome: JobOutcome, message: String?
        do {
            message = try await runner(job)
            outcome = .succeeded
        } catch is CancellationError {
            _ = try await finish(run, outcome: .interrupted, message: "cancelled: the scheduler is stopping")
            throw CancellationError()
        } catch {
            outcome = .failed
            message = "\(error)"
        }
        return try await finish(run, outcome: outcome, message: message)
    }

    private func claim(_ key: JobKey, slot: Date, now: Date, outcome: JobOutcome, message: String?) async throws -> JobRun? {
        let store = self.store
        return try await lane.run { try store.claim(key, slot: slot, now: now, outcome: outcome, message: message) }
    }

    private func finish(_ run: JobRun, outcome: JobOutcome, message: String?) async throws -> JobRun {
        let store = self.store, end = clock.now
        return try await lane.run { try store.finish(run, at: end, outcome: outcome, message: message) }
    }

    /// Every schedule with its next run after `now` (default: the clock's time) and its last run.
    public func plannedJobs(now: Date? = nil) throws -> [PlannedJob] {
        let now = now ?? clock.now
        return try store.schedules().map { schedule in
            let next = schedule.enabled ? schedule.cron.next(after: max(now, schedule.baseline), in: timeZone) : nil
            return PlannedJob(schedule: schedule, next: next, lastRun: try store.lastRun(schedule.key))
        }
    }

    /// When a pass next has work: the earliest owed slot over enabled jobs (possibly already past).
    public func nextDue() throws -> Date? {
        try store.schedules().filter(\.enabled).compactMap { $0.cron.next(after: $0.baseline, in: timeZone) }.min()
    }

    /// The scheduling loop of `serve`: marks runs left `.running` by a previous process as
    /// `.interrupted` (one scheduler per store), then runs due jobs and sleeps until the next
    /// slot (at most `recheckInterval`), until `deadline` passes or the task is cancelled, when it
    /// returns normally. Store failures are thrown.
    public func run(until deadline: Date? = nil) async throws {
        let store = self.store, now = clock.now
        _ = try await lane.run { try store.markInterrupted(now: now) }
        do {
            while !Task.isCancelled {
                let now = clock.now
                if let deadline, now >= deadline { return }
                try await runDue(now: now)
                var wake = clock.now.addingTimeInterval(recheckInterval)
                if let next = try await lane.run({ [self] in try nextDue() }) { wake = min(wake, next) }
                if let deadline { wake = min(wake, deadline) }
                if wake > clock.now { try await clock.sleep(until: wake) }
            }
        } catch is CancellationError {
            return
        }
    }

    private func missed(_ count: Int, from first: Date, through last: Date?) -> String {
        let many = count >= OwedSlots.countLimit - 1 ? "\(count) or more" : "\(count)"
        if count == 1 { return "missed the run due at \(format(first))" }
        if let last { return "missed \(many) runs due from \(format(first)) to \(format(last))" }
        return "missed \(many) runs due from \(format(first))"
    }

    private func format(_ date: Date) -> String {
        date.formatted(Date.ISO8601FormatStyle(timeZone: timeZone))
    }
}
