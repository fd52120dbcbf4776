public import Foundation
import Synchronization

/// The scheduler's source of time (named so as not to clash with the standard library's `Clock`):
/// `SystemClock` in `serve`, `ManualClock` in tests.
public protocol SchedulerClock: Sendable {
    var now: Date { get }
    /// Returns at `deadline` or later; throws `CancellationError` when the task is cancelled.
    func sleep(until deadline: Date) async throws
}

/// Wall-clock time. A sleep is one `Task.sleep`; the scheduler bounds its sleeps, so a clock that
/// jumps (NTP, suspend) is noticed within its recheck interval.
public struct SystemClock: SchedulerClock {
    public init() {}
    public var now: Date { Date() }

    public func sleep(until deadline: Date) async throws {
        let seconds = deadline.timeIntervalSinceNow
        if seconds > 0 { try await Task.sleep(for: .seconds(seconds)) }
        try Task.checkCancellation()
    }
}

/// A clock that moves only when told to, for tests: sleepers wake when `advance` passes their
/// deadline, and `nextSleep()` waits for someone to sleep so a test can step a running loop.
public final class ManualClock: SchedulerClock {
    private struct Sleeper {
        var deadline: Date
        var continuation: CheckedContinuation<Void, any Error>
    }
    private struct State {
        var now: Date
        var sleepers: [UInt64: Sleeper] = [:]
        var nextID: UInt64 = 0
    }
    private let state: Mutex<State>

    public init(_ start: Date) { state = Mutex(State(now: start)) }

    public var now: Date { state.withLock { $0.now } }

    /// Moves time forward to `date` (never back) and wakes the sleepers whose deadline has come.
    public func advance(to date: Date) {
        let woken = state.withLock { s -> [Sleeper] in
            s.now = max(s.now, date)
            let due = s.sleepers.filter { $0.value.deadline <= s.now }
            for id in due.keys { s.sleepers[id] = nil }
            return Array(due.values)
        }
        for sleeper in woken { sleeper.continuation.resume() }
    }

    public func advance(by seconds: TimeInterval) { advance(to: now.addingTimeInterval(seconds)) }

    public func sleep(until deadline: Date) async throws {
        let id = state.withLock { s in defer { s.nextID += 1 }; return s.nextID }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                let outcome: Result<Void, any Error>? = state.withLock { s in
                    if Task.isCancelled { return .failure(CancellationError()) }
                    if deadline <= s.now { return .success(()) }
                    s.sleepers[id] = Sleeper(deadline: deadline, continuation: continuation)
                    return nil
                }
                if let outcome { continuation.resume(with: outcome) }
            }
        } onCancel: {
            let sleeper = state.withLock { s in s.sleepers.removeValue(forKey: id) }
            sleeper?.continuation.resume(throwing: CancellationError())
        }
    }

    /// The earliest deadline of a current sleeper, if any.
    public var earliestSleep: Date? { state.withLock { $0.sleepers.values.map(\.deadline).min() } }

    /// Waits until some task sleeps on this clock and returns the earliest deadline; nil after
    /// `timeout` seconds of looking (at least that long in real time). The limit counts looks, 2 ms
    /// apart, not wall time: while other work holds every cooperative thread (a test suite's long
    /// synchronous tests), neither the sleeper nor this loop runs, and that time must not count
    /// against the sleeper (a wall-clock limit failed CI after such a 5-minute stall).
    public func nextSleep(timeout: TimeInterval = 300) async -> Date? {
        for _ in 0..<max(1, Int(timeout / 0.002)) {
            if let deadline = earliestSleep { return deadline }
            try? await Task.sleep(for: .milliseconds(2))
        }
        return earliestSleep
    }
}
