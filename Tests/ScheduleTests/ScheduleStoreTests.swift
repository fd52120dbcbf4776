import BlockStore
import Foundation
import GRDB
import Schedule
import Testing
import TestSupport
import Core

@Suite("Schedule store")
struct ScheduleStoreTests {
    let key = JobKey(machine: "web", kind: .build)

    /// The schedule tables live in the store's catalog without upsetting `Catalog`, which refuses
    /// databases migrated by a migrator it does not know.
    @Test func sharesTheCatalogWithBlockStore() throws {
        let dir = TempDir("schedule-catalog")
        let store = try Store(path: dir.file("store"), create: true)
        _ = try store.catalog.ensureMachine("web", blockSize: 1 << 20)
        let jobs = try ScheduleStore(store: store)
        #expect(jobs.path == dir.file("store/catalog.sqlite"))
        try jobs.setSchedule(key, cron: CronExpression("0 2 * * *"), enabled: true, now: iso("2025-01-01T00:00:00Z"))

        let reopened = try Store(path: dir.file("store"), create: false)
        #expect(try reopened.catalog.machines().map(\.name) == ["web"])
        let again = try ScheduleStore(store: reopened)
        #expect(try again.schedules().map(\.cron.source) == ["0 2 * * *"])
    }

    @Test func refusesNewerScheduleTables() throws {
        let dir = TempDir("schedule-newer")
        let path = dir.file("catalog.sqlite")
        _ = try ScheduleStore(path: path)
        let queue = try DatabaseQueue(path: path)
        try queue.write { try $0.execute(sql: "INSERT INTO grdb_migrations (identifier) VALUES ('schedule-v99')") }
        #expect {
            _ = try ScheduleStore(path: path)
        } throws: { error in
            (error as? UnderstudyError)?.code == .newerFormat
        }
    }

    /// Writes the schedule tables as releases before the one migration scheme did: versioned in
    /// `module_version`, not in `grdb_migrations`.
    private func writeOldScheme(_ path: String, version: Int) throws {
        let queue = try DatabaseQueue(path: path)
        try queue.write { db in
            try db.execute(sql: """
                CREATE TABLE module_version (module TEXT PRIMARY KEY NOT NULL, version INTEGER NOT NULL);
                CREATE TABLE "schedule" ("machine" TEXT NOT NULL, "kind" TEXT NOT NULL, "cron" TEXT NOT NULL, "enabled" BOOLEAN NOT NULL,
                    "since" DOUBLE NOT NULL, "last_fired" DOUBLE, PRIMARY KEY ("machine", "kind"));
                CREATE TABLE "job_run" ("id" INTEGER PRIMARY KEY AUTOINCREMENT, "machine" TEXT NOT NULL, "kind" TEXT NOT NULL,
                    "scheduled_for" DOUBLE NOT NULL, "started" DOUBLE NOT NULL, "finished" DOUBLE, "outcome" TEXT NOT NULL,
                    "message" TEXT, "seconds" DOUBLE);
                CREATE INDEX "job_run_machine" ON "job_run"("machine", "kind", "id");
                INSERT INTO schedule VALUES ('web', 'build', '0 2 * * *', 1, 1735689600, NULL);
                INSERT INTO job_run (machine, kind, scheduled_for, started, finished, outcome, message, seconds)
                    VALUES ('web', 'build', 1735783200, 1735783200, 1735783260, 'succeeded', 'done', 60);
                """)
            try db.execute(sql: "INSERT INTO module_version VALUES ('schedule', ?)", arguments: [version])
        }
    }

    @Test func adoptsTablesOfTheOldScheme() throws {
        let dir = TempDir("schedule-old-scheme")
        let path = dir.file("catalog.sqlite")
        try writeOldScheme(path, version: 1)
        let jobs = try ScheduleStore(path: path)
        #expect(try jobs.schedules().map(\.cron.source) == ["0 2 * * *"])
        #expect(try jobs.runs(machine: "web", limit: 10).map(\.message) == ["done"])
        let queue = try DatabaseQueue(path: path)
        let (oldTable, migrations) = try queue.read { db in
            (try db.tableExists("module_version"), try String.fetchAll(db, sql: "SELECT identifier FROM grdb_migrations"))
        }
        #expect(!oldTable, "the old version table was not retired")
        #expect(migrations == ["schedule-v1"])
        #expect(try ScheduleStore(path: path).schedules().count == 1, "a second open changed something")
    }

    @Test func refusesNewerTablesOfTheOldScheme() throws {
        let dir = TempDir("schedule-old-newer")
        let path = dir.file("catalog.sqlite")
        try writeOldScheme(path, version: 2)
        #expect {
            _ = try ScheduleStore(path: path)
        } throws: { error in
            (error as? UnderstudyError)?.code == .newerFormat
        }
        let queue = try DatabaseQueue(path: path)
        let version = try queue.read { try Int.fetchOne($0, sql: "SELECT version FROM module_version") }
        #expect(version == 2, "the refused catalog was changed")
    }

    @Test func claimMovesOnlyForward() throws {
        let dir = TempDir("schedule-claim")
        let jobs = try ScheduleStore(path: dir.file("catalog.sqlite"))
        let now = iso("2025-01-02T03:00:00Z")
        try jobs.setSchedule(key, cron: CronExpression("0 2 * * *"), enabled: true, now: iso("2025-01-01T00:00:00Z"))
        let slot = iso("2025-01-02T02:00:00Z")
        let run = try #require(try jobs.claim(key, slot: slot, now: now, outcome: .running, message: nil))
        #expect(run.outcome == .running && run.finished == nil && run.seconds == nil)
        #expect(try jobs.claim(key, slot: slot, now: now, outcome: .running, message: nil) == nil)
        #expect(try jobs.claim(key, slot: iso("2025-01-01T02:00:00Z"), now: now, outcome: .running, message: nil) == nil)
        #expect(try jobs.schedules().first?.lastFired == slot)
        #expect(try jobs.claim(JobKey(machine: "gone", kind: .build), slot: slot, now: now, outcome: .running, message: nil) == nil)

        let interrupted = try jobs.markInterrupted(now: now.addingTimeInterval(42))
        #expect(interrupted.map(\.id) == [run.id])
        #expect(try jobs.lastRun(key)?.outcome == .interrupted)
        #expect(try jobs.lastRun(key)?.seconds == 42)
        #expect(try jobs.markInterrupted(now: now).isEmpty)

        let missed = try #require(try jobs.claim(key, slot: iso("2025-01-03T02:00:00Z"), now: now, outcome: .missed, message: "m"))
        #expect(missed.finished == now && missed.seconds == 0)
        #expect(try jobs.runs(machine: "web", limit: 1) == [missed])
        #expect(try jobs.runs(machine: "db", limit: 10).isEmpty)
    }
}
