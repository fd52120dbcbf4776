public import Foundation

/// The nightly work the scheduler starts for a machine. Declaration order is run order: when
/// both are due, a machine's standby is built before it is verified.
public enum JobKind: String, Sendable, Hashable, Codable, CaseIterable, Comparable, CustomStringConvertible {
    /// Build or update the machine's standby image from its latest point.
    case build
    /// Boot-test the machine's standby.
    case verify

    public var description: String { rawValue }

    private var order: Int { Self.allCases.firstIndex(of: self)! }
    public static func < (a: JobKind, b: JobKind) -> Bool { a.order < b.order }
}

/// One scheduled job: a kind of work for one machine. A machine has at most one schedule per kind.
public struct JobKey: Hashable, Sendable, Codable, Comparable, CustomStringConvertible {
    public var machine: String
    public var kind: JobKind

    public init(machine: String, kind: JobKind) {
        self.machine = machine
        self.kind = kind
    }

    public var description: String { "\(kind) \(machine)" }
    public static func < (a: JobKey, b: JobKey) -> Bool { (a.machine, a.kind) < (b.machine, b.kind) }
}

/// A job's schedule as stored, with what the scheduler remembers about it.
public struct JobSchedule: Hashable, Sendable, Codable {
    public var key: JobKey
    public var cron: CronExpression
    public var enabled: Bool
    /// When the schedule was set, changed or last enabled: slots before it are not owed.
    public var since: Date
    /// The latest slot claimed for this job (run, or given up as missed); nil if none yet.
    public var lastFired: Date?

    public init(key: JobKey, cron: CronExpression, enabled: Bool = true, since: Date, lastFired: Date? = nil) {
        self.key = key
        self.cron = cron
        self.enabled = enabled
        self.since = since
        self.lastFired = lastFired
    }

    /// The time after which slots are owed: the later of `since` and `lastFired`.
    public var baseline: Date { max(since, lastFired ?? since) }
}

/// How a job run ended.
public enum JobOutcome: String, Sendable, Hashable, Codable, CustomStringConvertible {
    /// Started and not finished yet (or the scheduler died before recording the end).
    case running
    case succeeded
    case failed
    /// The scheduler was stopped, or crashed, while the job ran; it is not retried.
    case interrupted
    /// Slots that passed while the scheduler was not running and were not caught up.
    case missed

    public var description: String { rawValue }
}

/// A job the scheduler hands to its runner.
public struct DueJob: Hashable, Sendable, Codable {
    public var key: JobKey
    /// The slot this run is for (the cron time), which may be earlier than the start when catching up.
    public var scheduledFor: Date

    public init(key: JobKey, scheduledFor: Date) {
        self.key = key
        self.scheduledFor = scheduledFor
    }

    public var machine: String { key.machine }
    public var kind: JobKind { key.kind }
}

/// The record of one job run (table `job_run`).
public struct JobRun: Hashable, Sendable, Codable {
    public var id: Int64
    public var key: JobKey
    public var scheduledFor: Date
    public var started: Date
    public var finished: Date?
    public var outcome: JobOutcome
    /// What the runner returned or the error it threw; for missed runs, which slots were missed.
    public var message: String?

    public init(id: Int64, key: JobKey, scheduledFor: Date, started: Date, finished: Date?,
                outcome: JobOutcome, message: String?) {
        self.id = id; self.key = key; self.scheduledFor = scheduledFor; self.started = started
        self.finished = finished; self.outcome = outcome; self.message = message
    }

    public var machine: String { key.machine }
    public var kind: JobKind { key.kind }
    /// Wall-clock duration, once finished.
    public var seconds: Double? { finished.map { $0.timeIntervalSince(started) } }
}

/// A line of `understudy schedule list`: a schedule, when it runs next and how it last went.
public struct PlannedJob: Hashable, Sendable, Codable {
    public var schedule: JobSchedule
    /// The next slot after now; nil when disabled (or the expression never fires again).
    public var next: Date?
    public var lastRun: JobRun?
}
