import Foundation
import Schedule
import Synchronization
import Testing
import TestSupport

/// Runs each call on a new thread of its own and hands the result back; remembers those threads.
private final class OwnThreadLane: BlockingLane {
    let threads = Mutex<Set<UInt>>([])

    func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            Thread { [self] in
                threads.withLock { _ = $0.insert(UInt(pthread_self())) }
                continuation.resume(with: Result { try body() })
            }.start()
        }
    }
}

/// A `JobStore` that notes the thread of every call.
private final class ThreadRecordingStore: JobStore {
    let inner: ScheduleStore
    let threads = Mutex<[UInt]>([])
    init(_ inner: ScheduleStore) { self.inner = inner }

    private func note() { threads.withLock { $0.append(UInt(pthread_self())) } }
    func schedules() throws -> [JobSchedule] { note(); return try inner.schedules() }
    func setSchedule(_ key: JobKey, cron: CronExpression, enabled: Bool, now: Date) throws -> JobSchedule {
        note(); return try inner.setSchedule(key, cron: cron, enabled: enabled, now: now)
    }
    func removeSchedule(_ key: JobKey) throws -> Bool { note(); return try inner.removeSchedule(key) }
    func claim(_ key: JobKey, slot: Date, now: Date, outcome: JobOutcome, message: String?) throws -> JobRun? {
        note(); return try inner.claim(key, slot: slot, now: now, outcome: outcome, message: message)
    }
    func finish(_ run: JobRun, at: Date, outcome: JobOutcome, message: String?) throws -> JobRun {
        note(); return try inner.finish(run, at: at, outcome: outcome, message: message)
    }
    func runs(machine: String?, limit: Int) throws -> [JobRun] { note(); return try inner.runs(machine: machine, limit: limit) }
    func lastRun(_ key: JobKey) throws -> JobRun? { note(); return try inner.lastRun(key) }
    func markInterrupted(now: Date) throws -> [JobRun] { note(); return try inner.markInterrupted(now: now) }
}

@Suite("Scheduler's blocking lane")
struct BlockingLaneTests {
    /// `serve` gives the scheduler a thread pool for its SQLite calls; none may run on the
    /// cooperative thread that runs the scheduler.
    @Test func everyStoreCallOfAPassRunsOnTheLane() async throws {
        let dir = TempDir("schedule-lane")
        let store = ThreadRecordingStore(try ScheduleStore(path: dir.file("catalog.sqlite")))
        let key = JobKey(machine: "web", kind: .build)
        try store.inner.setSchedule(key, cron: CronExpression("0 2 * * *"), enabled: true, now: iso("2025-01-01T00:00:00Z"))
        let clock = ManualClock(iso("2025-01-01T02:00:30Z"))
        let lane = OwnThreadLane()
        let scheduler = Scheduler(store: store, clock: clock, timeZone: utc, lane: lane) { _ in "built" }

        let runs = try await scheduler.runDue()
        #expect(runs.map(\.outcome) == [.succeeded])
        let threads = store.threads.withLock { $0 }
        #expect(threads.count >= 3, "schedules, claim and finish were not all asked: \(threads)")
        let laneThreads = lane.threads.withLock { $0 }
        #expect(threads.allSatisfy(laneThreads.contains), "store calls ran off the lane: \(threads), lane: \(laneThreads)")
    }
}
