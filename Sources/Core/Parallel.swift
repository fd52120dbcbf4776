import Dispatch
import Foundation
import Synchronization

/// Runs work on every core with per-worker state and the first error kept.
public enum Parallel {
    /// Worker threads to use: the cores this process may run on.
    public static var workers: Int { max(1, ProcessInfo.processInfo.activeProcessorCount) }

    /// Calls `body(worker, index)` for every index in `0..<count`, spread dynamically over
    /// `workers` threads; `worker` is stable per thread, for per-worker buffers and contexts.
    /// After an error, remaining indices are skipped and the first error is rethrown.
    public static func forEach(_ count: Int, workers: Int = Parallel.workers,
                               _ body: (_ worker: Int, _ index: Int) throws -> Void) throws {
        if count == 0 { return }
        let threads = min(workers, count)
        if threads == 1 {
            for i in 0..<count { try body(0, i) }
            return
        }
        let next = Atomic<Int>(0)
        let failure = Mutex<(any Error)?>(nil)
        withoutActuallyEscaping(body) { body in
            nonisolated(unsafe) let body = body
            DispatchQueue.concurrentPerform(iterations: threads) { worker in
                while true {
                    let i = next.add(1, ordering: .relaxed).oldValue
                    if i >= count { return }
                    do {
                        try body(worker, i)
                    } catch {
                        failure.withLock { if $0 == nil { $0 = error } }
                        next.store(count, ordering: .relaxed)
                        return
                    }
                }
            }
        }
        if let error = failure.withLock({ $0 }) { throw error }
    }
}

/// Receives progress of long work (bytes done of total); implementations must be cheap to call.
public protocol ProgressReporter: Sendable {
    func start(phase: String, total: Int64)
    func update(done: Int64)
    func finish()
    /// A one-line message (e.g. why the work waits).
    func note(_ message: String)
}

extension ProgressReporter {
    public func note(_ message: String) {}
}

/// Reports nothing.
public struct SilentProgress: ProgressReporter {
    public init() {}
    public func start(phase: String, total: Int64) {}
    public func update(done: Int64) {}
    public func finish() {}
}
