import HummingbirdCore
import Logging
import NIOCore

/// Runs the Swift tasks of each connection on the event loop that owns it, instead of on Swift's
/// cooperative pool (one thread per core). Under load (twenty restores streaming chunk batches)
/// every request's handler, and every resumption after an `await`, otherwise queued on those two
/// threads behind the others', then hopped back to its event loop to write: a listing waited in
/// that queue for tens of milliseconds at each step. Handlers do no blocking work themselves
/// (SQLite and `pread` go to `BlockingWork`), so they may run on their loop.
struct LoopAffineChannel<Base: ServerChildChannel>: ServerChildChannel {
    typealias Value = Base.Value
    let base: Base

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        base.setup(channel: channel, logger: logger)
    }

    func handle(value: Value, logger: Logger) async {
        await withTaskExecutorPreference(EventLoopTaskExecutor(value.channel.eventLoop)) {
            await base.handle(value: value, logger: logger)
        }
    }
}

/// A `TaskExecutor` that runs jobs on one event loop.
final class EventLoopTaskExecutor: TaskExecutor {
    private let loop: any EventLoop

    init(_ loop: any EventLoop) {
        self.loop = loop
    }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        loop.execute { job.runSynchronously(on: self.asUnownedTaskExecutor()) }
    }
}
