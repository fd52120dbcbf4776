import NIOPosix

/// The chunk service's one funnel for blocking work (SQLite queries, `pread` of pack files):
/// never run on an event loop or on Swift's cooperative pool, whose few threads must stay free to
/// accept connections and answer. Two lanes on dedicated thread pools, so that a machine listing
/// or a token check never queues behind the bulk reads of twenty restores:
/// - `catalog`: short queries (listings, tokens);
/// - `bulk`: block maps and chunk frames.
final class BlockingWork: Sendable {
    enum Lane: Sendable { case catalog, bulk }

    private let catalog: NIOThreadPool
    private let bulk: NIOThreadPool

    init(catalogThreads: Int = 2, bulkThreads: Int = 4) {
        catalog = NIOThreadPool(numberOfThreads: catalogThreads)
        bulk = NIOThreadPool(numberOfThreads: bulkThreads)
        catalog.start()
        bulk.start()
    }

    /// Runs `body` on the lane's pool and returns its result to the awaiting task.
    func run<T: Sendable>(_ lane: Lane, _ body: @escaping @Sendable () throws -> T) async throws -> T {
        try await (lane == .catalog ? catalog : bulk).runIfActive(body)
    }

    func shutdown() async {
        try? await catalog.shutdownGracefully()
        try? await bulk.shutdownGracefully()
    }
}
