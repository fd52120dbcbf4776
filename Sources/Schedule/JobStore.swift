public import Foundation

/// Where the scheduler keeps schedules, the last slot each job fired for, and run records.
/// `ScheduleStore` keeps them in the store's SQLite catalog; another backend (PostgreSQL) would
/// implement the same protocol.
///
/// `claim` is the heart of the at-most-once guarantee: it must atomically move the job's
/// `lastFired` forward and add the run record, and refuse a slot at or before the current one,
/// so two schedulers (or one restarted mid-job) can never run the same slot twice.
public protocol JobStore: Sendable {
    /// Every schedule, ordered by machine then kind.
    func schedules() throws -> [JobSchedule]

    /// Creates or replaces the schedule of `key`. `since` becomes `now` when the schedule is new,
    /// its expression changed, or it is being enabled; otherwise it is kept.
    @discardableResult
    func setSchedule(_ key: JobKey, cron: CronExpression, enabled: Bool, now: Date) throws -> JobSchedule

    /// Removes the schedule of `key`; its run records stay. Returns whether it existed.
    @discardableResult
    func removeSchedule(_ key: JobKey) throws -> Bool

    /// In one transaction: sets the job's `lastFired` to `slot` if it is earlier (or unset) and
    /// records a run for `slot` started at `now` with `outcome` (`.running`, or `.missed`, which is
    /// recorded as finished at once). Returns nil and changes nothing if the slot, or a later
    /// one, was already claimed or the schedule is gone.
    func claim(_ key: JobKey, slot: Date, now: Date, outcome: JobOutcome, message: String?) throws -> JobRun?

    /// Records the end of a claimed run.
    @discardableResult
    func finish(_ run: JobRun, at: Date, outcome: JobOutcome, message: String?) throws -> JobRun

    /// Runs, newest first; of one machine if given.
    func runs(machine: String?, limit: Int) throws -> [JobRun]

    /// The latest run of one job.
    func lastRun(_ key: JobKey) throws -> JobRun?

    /// Marks runs still `.running` as `.interrupted`, finished at `now`: what a scheduler does on
    /// start, when no run of a previous process can still be going. Returns the runs marked.
    @discardableResult
    func markInterrupted(now: Date) throws -> [JobRun]
}
