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
        try queue.write { try $0.execute(sql: "UPDATE module_version SET version = 99 WHERE module = 'schedule'") }
        #expect {
            _ = try ScheduleStore(path: path)
        } throws: { error in
            (error as? UnderstudyError)?.code == .newerFormat
        }
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
