import NIOPosix
import Schedule

/// A `BlockingLane` on threads of its own: the scheduler's SQLite calls wait there, never on a
/// cooperative thread or an event loop.
final class ThreadLane: BlockingLane {
    private let pool: NIOThreadPool

    init(threads: Int = 1) {
        pool = NIOThreadPool(numberOfThreads: threads)
        pool.start()
    }

    func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await pool.runIfActive(body)
    }

    func shutdown() {
        pool.shutdownGracefully { _ in }
    }
}
