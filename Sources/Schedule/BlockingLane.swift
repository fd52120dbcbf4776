/// Where the scheduler runs its store calls (SQLite, which may wait on a busy catalog for up to
/// a minute). `serve` gives it a thread of its own (`Server`), so no cooperative thread blocks;
/// tests and one-shot commands run them in place.
public protocol BlockingLane: Sendable {
    func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T
}

/// Runs blocking calls on the calling thread.
public struct InPlaceLane: BlockingLane {
    public init() {}
    public func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T { try body() }
}
