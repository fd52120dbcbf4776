import Foundation
import Schedule
import Testing
import TestSupport

@Suite("Scheduler")
struct SchedulerTests {
    let web = JobKey(machine: "web", kind: .build)
    let webVerify = JobKey(machine: "web", kind: .verify)

    @Test func firesAtItsTimesExactlyOnce() async throws {
        let h = try Harness(start: "2025-01-01T00:00:00Z")
        try h.set("web", .build, "0 2 * * *")
        try h.set("web", .verify, "30 2 * * *")
        #expect(try await h.pass(at: "2025-01-01T01:59:00Z").isEmpty)
        let build = try await h.pass(at: "2025-01-01T02:00:00Z")
        #expect(build.map(\.key) == [web])
        #expect(build.first?.scheduledFor == iso("2025-01-01T02:00:00Z"))
        #expect(build.first?.outcome == .succeeded)
        #expect(try await h.scheduler.runDue().isEmpty)
        #expect(try await h.pass(at: "2025-01-01T02:29:59Z").isEmpty)
        let verify = try await h.pass(at: "2025-01-01T02:30:00Z")
        #expect(verify.map(\.key) == [webVerify])
        #expect(try await h.pass(at: "2025-01-01T02:30:00Z").isEmpty)
        #expect(h.log.names == ["build web", "verify web"])
    }

    @Test func serveLoopRunsEachSlotOnce() async throws {
        let h = try Harness(start: "2025-01-01T00:00:00Z")
        try h.set("web", .build, "0 2 * * *")
        try h.set("web", .verify, "30 2 * * *")
        try await h.serve(until: "2025-01-04T00:00:00Z")
        #expect(h.log.names == Array(repeating: ["build web", "verify web"], count: 3).flatMap { $0 })
        #expect(h.log.jobs.map(\.scheduledFor) == [
            iso("2025-01-01T02:00:00Z"), iso("2025-01-01T02:30:00Z"), iso("2025-01-02T02:00:00Z"),
            iso("2025-01-02T02:30:00Z"), iso("2025-01-03T02:00:00Z"), iso("2025-01-03T02:30:00Z"),
        ])
        let records = try h.store.runs(machine: "web", limit: 100)
        #expect(records.count == 6)
        #expect(records.allSatisfy { $0.outcome == .succeeded })
    }

    @Test func buildBeforeVerifyAndMachinesByTheirSlots() async throws {
        let h = try Harness(start: "2025-01-01T00:00:00Z")
        try h.set("web", .verify, "0 1 * * *") // verify's slot is the earlier one
        try h.set("web", .build, "0 2 * * *")
        try h.set("db", .verify, "45 0 * * *")
        try h.set("db", .build, "30 0 * * *")
        let records = try await h.pass(at: "2025-01-01T03:00:00Z")
        #expect(h.log.names == ["build db", "verify db", "build web", "verify web"])
        #expect(records.map(\.outcome) == Array(repeating: .succeeded, count: 4))
    }

    @Test func runRecordsHoldOutcomeAndDuration() async throws {
        let h = try Harness(start: "2025-01-01T00:00:00Z", duration: 754, failing: [web])
        try h.set("web", .build, "0 2 * * *")
        try h.set("web", .verify, "0 2 * * *")
        try h.set("db", .build, "0 2 * * *")
        let records = try await h.pass(at: "2025-01-01T02:00:00Z")
        // The failed build neither stops web's verify nor db's build.
        #expect(h.log.names == ["build db", "build web", "verify web"])
        #expect(records.map(\.outcome) == [.succeeded, .failed, .succeeded])
        #expect(records.map(\.seconds) == [754, 754, 754])
        #expect(records[1].message == "standby image could not be written")
        #expect(records[2].message == "verify of web done")

        var reopened = h
        try reopened.restart()
        let stored = try reopened.store.runs(machine: nil, limit: 10).reversed().map { $0 }
        #expect(stored == records)
        #expect(stored[1].started == iso("2025-01-01T02:12:34Z"))
        #expect(stored[1].finished == iso("2025-01-01T02:25:08Z"))
        #expect(stored[1].scheduledFor == iso("2025-01-01T02:00:00Z"))
    }

    @Test func aScheduleOwesNothingFromBeforeItWasSet() async throws {
        let h = try Harness(start: "2025-01-01T14:00:00Z")
        try h.set("web", .build, "0 2 * * *")
        #expect(try await h.pass(at: "2025-01-01T14:00:00Z").isEmpty)
        let planned = try h.scheduler.plannedJobs()
        #expect(planned.map(\.next) == [iso("2025-01-02T02:00:00Z")])
        #expect(planned.first?.lastRun == nil)
        try await h.pass(at: "2025-01-02T02:00:00Z")
        let after = try h.scheduler.plannedJobs()
        #expect(after.map(\.next) == [iso("2025-01-03T02:00:00Z")])
        #expect(after.first?.lastRun?.outcome == .succeeded)
    }

    @Test func disabledJobsDoNotRunAndOweNothingWhenEnabledAgain() async throws {
        let h = try Harness(start: "2025-01-01T00:00:00Z")
        try h.store.setSchedule(web, cron: cron("0 2 * * *"), enabled: false, now: h.clock.now)
        #expect(try await h.pass(at: "2025-01-01T03:00:00Z").isEmpty)
        #expect(try h.scheduler.plannedJobs().map(\.next) == [nil])
        // Enabled at 03:00: that night's 02:00 was not owed.
        try h.set("web", .build, "0 2 * * *")
        #expect(try await h.pass(at: "2025-01-01T04:00:00Z").isEmpty)
        #expect(try await h.pass(at: "2025-01-02T02:00:00Z").count == 1)
        #expect(try h.store.removeSchedule(web))
        #expect(try await h.pass(at: "2025-01-03T02:00:00Z").isEmpty)
        #expect(try !h.store.removeSchedule(web))
    }

    @Test func settingTheSameScheduleAgainKeepsWhatIsOwed() throws {
        let h = try Harness(start: "2025-01-01T00:00:00Z")
        let first = try h.store.setSchedule(web, cron: cron("0 2 * * *"), enabled: true, now: iso("2025-01-01T00:00:00Z"))
        let same = try h.store.setSchedule(web, cron: cron("0 2 * * *"), enabled: true, now: iso("2025-01-01T05:00:00Z"))
        #expect(same.since == first.since)
        let changed = try h.store.setSchedule(web, cron: cron("0 3 * * *"), enabled: true, now: iso("2025-01-01T05:00:00Z"))
        #expect(changed.since == iso("2025-01-01T05:00:00Z"))
        #expect(try h.store.schedules() == [changed])
    }

    @Test func aClaimedSlotNeverRunsAgainAfterACrashMidJob() async throws {
        var h = try Harness(start: "2025-01-01T00:00:00Z")
        try h.set("web", .build, "0 2 * * *")
        try h.set("web", .verify, "30 2 * * *")
        try await h.pass(at: "2025-01-01T02:00:00Z")
        // A scheduler that hangs in the verify, then "crashes" (is abandoned).
        let hung = Scheduler(store: h.store, clock: h.clock, timeZone: utc) { _ in
            try await Task.sleep(for: .seconds(3600))
            return nil
        }
        h.clock.advance(to: iso("2025-01-01T02:30:00Z"))
        let stuck = Task { try await hung.runDue() }
        defer { stuck.cancel() }
        while try h.store.lastRun(webVerify)?.outcome != .running { try await Task.sleep(for: .milliseconds(5)) }

        try h.restart()
        #expect(try await h.scheduler.runDue().isEmpty)
        #expect(try await h.pass(at: "2025-01-01T02:45:00Z").isEmpty)
        // The restarted loop marks the abandoned run interrupted and waits for the next slots.
        try await h.serve(until: "2025-01-02T03:00:00Z")
        #expect(h.log.names == ["build web", "build web", "verify web"])
        let verifies = try h.store.runs(machine: "web", limit: 10).filter { $0.kind == .verify }
        #expect(verifies.map(\.outcome) == [.succeeded, .interrupted])
        #expect(verifies.map(\.scheduledFor) == [iso("2025-01-02T02:30:00Z"), iso("2025-01-01T02:30:00Z")])
    }

    @Test func twoSchedulersOnOneStoreRunASlotOnce() async throws {
        var h = try Harness(start: "2025-01-01T00:00:00Z")
        try h.set("web", .build, "0 2 * * *")
        let first = h.scheduler
        try h.restart()
        let second = h.scheduler
        h.clock.advance(to: iso("2025-01-01T02:00:00Z"))
        async let a = first.runDue()
        async let b = second.runDue()
        let ran = try await a.count + b.count
        #expect(ran == 1)
        #expect(h.log.names == ["build web"])
    }

    // MARK: missed slots

    @Test func missedSlotsRunOnceIfNearerThanTheNextSlot() async throws {
        var h = try Harness(start: "2025-01-01T00:00:00Z")
        try h.set("web", .build, "0 2 * * *")
        try await h.pass(at: "2025-01-01T02:00:00Z")

        // Down from 02:01 to 09:00 the next day: the 02:00 run is 7 h late, under half a day.
        try h.restart()
        var records = try await h.pass(at: "2025-01-02T09:00:00Z")
        #expect(records.map(\.outcome) == [.succeeded])
        #expect(records.first?.scheduledFor == iso("2025-01-02T02:00:00Z"))
        #expect(records.first?.started == iso("2025-01-02T09:00:00Z"))

        // Down for three nights: one catch-up run, the earlier slots recorded as missed, no burst.
        try h.restart()
        records = try await h.pass(at: "2025-01-05T09:00:00Z")
        #expect(records.map(\.outcome) == [.missed, .succeeded])
        #expect(records[0].scheduledFor == iso("2025-01-03T02:00:00Z"))
        #expect(records[0].message?.contains("missed 2 runs") == true)
        #expect(records[0].seconds == 0)
        #expect(records[1].scheduledFor == iso("2025-01-05T02:00:00Z"))

        // Back at 23:00: the missed 02:00 is 21 h late, the next is 3 h away; wait for it.
        try h.restart()
        records = try await h.pass(at: "2025-01-06T23:00:00Z")
        #expect(records.map(\.outcome) == [.missed])
        #expect(records.first?.scheduledFor == iso("2025-01-06T02:00:00Z"))
        #expect(try await h.pass(at: "2025-01-07T01:59:00Z").isEmpty)
        #expect(try await h.pass(at: "2025-01-07T02:00:00Z").map(\.outcome) == [.succeeded])
        #expect(h.log.jobs.map(\.scheduledFor) == [
            iso("2025-01-01T02:00:00Z"), iso("2025-01-02T02:00:00Z"), iso("2025-01-05T02:00:00Z"), iso("2025-01-07T02:00:00Z"),
        ])
    }

    @Test func alwaysPolicyCatchesUpHoweverLate() async throws {
        let h = try Harness(start: "2025-01-01T00:00:00Z", catchUp: .always)
        try h.set("web", .build, "0 2 * * *")
        let records = try await h.pass(at: "2025-01-01T23:00:00Z")
        #expect(records.map(\.outcome) == [.succeeded])
        #expect(records.first?.scheduledFor == iso("2025-01-01T02:00:00Z"))
    }

    @Test func aLongOutageOfAFrequentJobIsOneRun() async throws {
        let h = try Harness(start: "2025-01-01T00:00:00Z")
        try h.set("web", .verify, "*/15 * * * *")
        let started = Date()
        let records = try await h.pass(at: "2025-01-08T00:05:00Z")
        #expect(Date().timeIntervalSince(started) < 5)
        #expect(records.map(\.outcome) == [.missed, .succeeded])
        #expect(records[0].message?.contains("missed 671 runs") == true)
        #expect(records[1].scheduledFor == iso("2025-01-08T00:00:00Z"))
        #expect(h.log.jobs.count == 1)
    }

    @Test func aLongJobDelaysButDoesNotDropTheNextOne() async throws {
        // The build takes three hours; the verify due meanwhile runs right after it.
        let h = try Harness(start: "2025-01-01T00:00:00Z", duration: 3 * 3600)
        try h.set("web", .build, "0 2 * * *")
        try h.set("web", .verify, "30 2 * * *")
        try await h.serve(until: "2025-01-02T00:00:00Z")
        #expect(h.log.names == ["build web", "verify web"])
        let verify = try #require(try h.store.lastRun(webVerify))
        #expect(verify.started == iso("2025-01-01T05:00:00Z"))
        #expect(verify.scheduledFor == iso("2025-01-01T02:30:00Z"))
    }

    // MARK: loop

    @Test func cancellingTheLoopInterruptsTheRunningJobAndReturns() async throws {
        let h = try Harness(start: "2025-01-01T01:59:00Z")
        try h.set("web", .build, "0 2 * * *")
        try h.set("web", .verify, "30 2 * * *")
        let scheduler = Scheduler(store: h.store, clock: h.clock, timeZone: utc) { _ in
            try await Task.sleep(for: .seconds(3600))
            return nil
        }
        let loop = Task { try await scheduler.run() }
        let wake = try #require(await h.clock.nextSleep())
        #expect(wake == iso("2025-01-01T02:00:00Z"))
        h.clock.advance(to: iso("2025-01-01T02:31:00Z"))
        while try h.store.lastRun(web)?.outcome != .running { try await Task.sleep(for: .milliseconds(5)) }
        loop.cancel()
        try await loop.value
        #expect(try h.store.lastRun(web)?.outcome == .interrupted)
        #expect(try h.store.lastRun(webVerify) == nil) // not claimed: still owed
    }

    // MARK: daylight-saving time

    @Test func berlinSpringForwardAndFallBack() async throws {
        let spring = try Harness(start: "2025-03-29T00:00:00+01:00", zone: berlin)
        try spring.set("web", .build, "30 2 * * *")
        try await spring.serve(until: "2025-04-01T00:00:00+02:00")
        #expect(spring.log.jobs.map(\.scheduledFor) == [
            iso("2025-03-29T02:30:00+01:00"), iso("2025-03-30T03:00:00+02:00"), iso("2025-03-31T02:30:00+02:00"),
        ])

        let autumn = try Harness(start: "2025-10-25T00:00:00+02:00", zone: berlin)
        try autumn.set("web", .build, "30 2 * * *")
        try autumn.set("web", .verify, "0 * * * *")
        try await autumn.serve(until: "2025-10-26T04:00:00+01:00")
        let builds = autumn.log.jobs.filter { $0.kind == .build }.map(\.scheduledFor)
        #expect(builds == [iso("2025-10-25T02:30:00+02:00"), iso("2025-10-26T02:30:00+02:00")])
        // Every real hour: 01:00-23:00 on the 25th, then 00:00, 01:00, 02:00 CEST, 02:00 CET, 03:00 CET.
        #expect(autumn.log.jobs.filter { $0.kind == .verify }.count == 23 + 5)
    }
}
