public import BlockStore
public import Foundation
internal import GRDB
import Core

/// The `JobStore` kept in the store's SQLite catalog (`STORE/catalog.sqlite`), beside the tables
/// `Catalog` owns, under migrations of its own (`schedule-v1`, ...; `ModuleTables`):
///
/// ```
/// schedule (machine, kind) → cron, enabled, since, last_fired
/// job_run  id, machine, kind, scheduled_for, started, finished, outcome, message, seconds
/// ```
/// Times are seconds since 1970 (REAL), as in `Catalog`.
///
/// Stores written before the one migration scheme versioned these tables in a table of their
/// own, `module_version` (row `schedule`, version 1): `schedule-v1` adopts tables it finds there
/// and retires the row; a version above 1 there was written by a newer Understudy and is refused.
public final class ScheduleStore: JobStore {
    public let path: String
    private let db: ModuleDatabase
    static let known: Set<String> = ["schedule-v1"]

    /// Opens (and creates or upgrades the tables in) the SQLite database at `path`.
    public convenience init(path: String) throws {
        try self.init(path: path, readOnlyReason: nil)
    }

    /// The schedule tables of an opened store, in its catalog.
    public convenience init(store: Store) throws {
        try self.init(path: store.layout.catalog, readOnlyReason: store.readOnlyReason)
    }

    private init(path: String, readOnlyReason: ReadOnlyReason?) throws {
        self.path = path
        db = try ModuleTables.open(path: path, readOnlyReason: readOnlyReason, prefix: "schedule-", known: Self.known,
                                   what: "schedule tables") { migrator in
            migrator.registerMigration("schedule-v1") { db in try Self.createTables(db, path: path) }
        }
    }

    private static func createTables(_ db: Database, path: String) throws {
        if try db.tableExists("module_version") {
            let version = try Int.fetchOne(db, sql: "SELECT version FROM module_version WHERE module = 'schedule'") ?? 0
            guard version <= 1 else {
                throw UnderstudyError(.newerFormat, "the schedule tables in \(path) were written by a newer Understudy (version \(version)); upgrade to use this store",
                                 at: .init(path: path))
            }
            try db.execute(sql: "DELETE FROM module_version WHERE module = 'schedule'")
            if try Int.fetchOne(db, sql: "SELECT count(*) FROM module_version") == 0 {
                try db.drop(table: "module_version")
            }
        }
        try db.create(table: "schedule", options: .ifNotExists) { t in
            t.column("machine", .text).notNull()
            t.column("kind", .text).notNull()
            t.column("cron", .text).notNull()
            t.column("enabled", .boolean).notNull()
            t.column("since", .double).notNull()
            t.column("last_fired", .double)
            t.primaryKey(["machine", "kind"])
        }
        try db.create(table: "job_run", options: .ifNotExists) { t in
            t.autoIncrementedPrimaryKey("id")
            t.column("machine", .text).notNull()
            t.column("kind", .text).notNull()
            t.column("scheduled_for", .double).notNull()
            t.column("started", .double).notNull()
            t.column("finished", .double)
            t.column("outcome", .text).notNull()
            t.column("message", .text)
            t.column("seconds", .double)
        }
        try db.create(index: "job_run_machine", on: "job_run", columns: ["machine", "kind", "id"], options: .ifNotExists)
    }

    // MARK: schedules

    public func schedules() throws -> [JobSchedule] {
        try db.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM schedule ORDER BY machine, kind").map(schedule)
        }
    }

    @discardableResult
    public func setSchedule(_ key: JobKey, cron: CronExpression, enabled: Bool, now: Date) throws -> JobSchedule {
        try db.write { db in
            let old = try Row.fetchOne(db, sql: "SELECT * FROM schedule WHERE machine = ? AND kind = ?",
                                       arguments: [key.machine, key.kind.rawValue])
            let keepSince = old.map { $0["cron"] as String == cron.source && $0["enabled"] as Bool == enabled } ?? false
            let since = keepSince ? old!["since"] as Double : now.timeIntervalSince1970
            try db.execute(sql: """
                INSERT INTO schedule (machine, kind, cron, enabled, since, last_fired) VALUES (?, ?, ?, ?, ?, NULL)
                ON CONFLICT (machine, kind) DO UPDATE SET cron = excluded.cron, enabled = excluded.enabled, since = excluded.since
                """, arguments: [key.machine, key.kind.rawValue, cron.source, enabled, since])
            return try schedule(Row.fetchOne(db, sql: "SELECT * FROM schedule WHERE machine = ? AND kind = ?",
                                             arguments: [key.machine, key.kind.rawValue])!)
        }
    }

    @discardableResult
    public func removeSchedule(_ key: JobKey) throws -> Bool {
        try db.write { db in
            try db.execute(sql: "DELETE FROM schedule WHERE machine = ? AND kind = ?", arguments: [key.machine, key.kind.rawValue])
            return db.changesCount > 0
        }
    }

    private func schedule(_ row: Row) throws -> JobSchedule {
        let machine: String = row["machine"]
        let kindName: String = row["kind"]
        guard let kind = JobKind(rawValue: kindName) else {
            throw UnderstudyError(.newerFormat, "schedule of \(machine) has kind '\(kindName)', unknown to this Understudy",
                             at: .init(machine: machine, path: path))
        }
        let cron: CronExpression
        do {
            cron = try CronExpression(row["cron"] as String)
        } catch {
            throw UnderstudyError(.corruptCatalog, "stored \(kind) schedule of \(machine): \(error.message)",
                             at: .init(machine: machine, path: path))
        }
        return JobSchedule(key: JobKey(machine: machine, kind: kind), cron: cron, enabled: row["enabled"],
                           since: Date(timeIntervalSince1970: row["since"]),
                           lastFired: (row["last_fired"] as Double?).map(Date.init(timeIntervalSince1970:)))
    }

    // MARK: runs

    public func claim(_ key: JobKey, slot: Date, now: Date, outcome: JobOutcome, message: String?) throws -> JobRun? {
        try db.write { db in
            try db.execute(sql: """
                UPDATE schedule SET last_fired = ?
                WHERE machine = ? AND kind = ? AND (last_fired IS NULL OR last_fired < ?)
                """, arguments: [slot.timeIntervalSince1970, key.machine, key.kind.rawValue, slot.timeIntervalSince1970])
            guard db.changesCount == 1 else { return nil }
            let finished = outcome == .running ? nil : now
            try db.execute(sql: """
                INSERT INTO job_run (machine, kind, scheduled_for, started, finished, outcome, message, seconds)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                """, arguments: [key.machine, key.kind.rawValue, slot.timeIntervalSince1970, now.timeIntervalSince1970,
                                 finished?.timeIntervalSince1970, outcome.rawValue, message, finished.map { _ in 0.0 }])
            return JobRun(id: db.lastInsertedRowID, key: key, scheduledFor: slot, started: now, finished: finished,
                          outcome: outcome, message: message)
        }
    }

    @discardableResult
    public func finish(_ run: JobRun, at end: Date, outcome: JobOutcome, message: String?) throws -> JobRun {
        var done = run
        done.finished = end
        done.outcome = outcome
        done.message = message
        try db.write { db in
            try db.execute(sql: "UPDATE job_run SET finished = ?, outcome = ?, message = ?, seconds = ? WHERE id = ?",
                           arguments: [end.timeIntervalSince1970, outcome.rawValue, message, done.seconds, run.id])
        }
        return done
    }

    public func runs(machine: String?, limit: Int) throws -> [JobRun] {
        try db.read { db in
            if let machine {
                return try Row.fetchAll(db, sql: "SELECT * FROM job_run WHERE machine = ? ORDER BY id DESC LIMIT ?",
                                        arguments: [machine, limit]).map(run)
            }
            return try Row.fetchAll(db, sql: "SELECT * FROM job_run ORDER BY id DESC LIMIT ?", arguments: [limit]).map(run)
        }
    }

    public func lastRun(_ key: JobKey) throws -> JobRun? {
        try db.read { db in
            try Row.fetchOne(db, sql: "SELECT * FROM job_run WHERE machine = ? AND kind = ? ORDER BY id DESC LIMIT 1",
                             arguments: [key.machine, key.kind.rawValue]).map(run)
        }
    }

    @discardableResult
    public func markInterrupted(now: Date) throws -> [JobRun] {
        try db.write { db in
            let stale = try Row.fetchAll(db, sql: "SELECT * FROM job_run WHERE outcome = 'running' ORDER BY id").map(run)
            let message = "the scheduler stopped while this job ran; it is not retried"
            try db.execute(sql: """
                UPDATE job_run SET outcome = 'interrupted', finished = ?, seconds = ? - started, message = ?
                WHERE outcome = 'running'
                """, arguments: [now.timeIntervalSince1970, now.timeIntervalSince1970, message])
            return stale.map { var r = $0; r.finished = now; r.outcome = .interrupted; r.message = message; return r }
        }
    }

    private func run(_ row: Row) throws -> JobRun {
        let kindName: String = row["kind"]
        let outcomeName: String = row["outcome"]
        guard let kind = JobKind(rawValue: kindName), let outcome = JobOutcome(rawValue: outcomeName) else {
            throw UnderstudyError(.newerFormat, "job run \(row["id"] as Int64) has kind '\(kindName)' and outcome '\(outcomeName)', unknown to this Understudy",
                             at: .init(path: path))
        }
        return JobRun(id: row["id"], key: JobKey(machine: row["machine"], kind: kind),
                      scheduledFor: Date(timeIntervalSince1970: row["scheduled_for"]),
                      started: Date(timeIntervalSince1970: row["started"]),
                      finished: (row["finished"] as Double?).map(Date.init(timeIntervalSince1970:)),
                      outcome: outcome, message: row["message"])
    }
}
