import Foundation
import Logging
import NIOCore
import Synchronization

/// Bounds the connections that have not yet shown a valid token. Each accepted connection is
/// unauthenticated until a request on it passes `TokenAuthMiddleware`; at most `limit` may be so
/// at once. A connection beyond the limit evicts the oldest unauthenticated one (closed at once),
/// so peers that connect and say nothing can hold at most `limit` descriptors, and only until
/// newer connections push them out: a client that sends its request right after connecting is
/// always the newest, never the one evicted.
final class ConnectionGate: Sendable {
    private struct Waiting {
        var order: UInt64
        var channel: any Channel
    }

    private struct State {
        var waiting: [ObjectIdentifier: Waiting] = [:]
        var next: UInt64 = 0
        var evicted = 0
        var lastWarning: Date = .distantPast
    }

    let limit: Int
    private let logger: Logger
    private let state = Mutex(State())

    init(limit: Int, logger: Logger) {
        self.limit = max(1, limit)
        self.logger = logger
    }

    /// Registers a new connection; closes the oldest unauthenticated one if this one is over the limit.
    func admit(_ channel: any Channel) {
        let (victim, warning) = state.withLock { state -> ((any Channel)?, String?) in
            state.waiting[ObjectIdentifier(channel)] = Waiting(order: state.next, channel: channel)
            state.next += 1
            guard state.waiting.count > limit,
                  let oldest = state.waiting.min(by: { $0.value.order < $1.value.order }) else { return (nil, nil) }
            state.waiting[oldest.key] = nil
            state.evicted += 1
            let now = Date()
            guard now.timeIntervalSince(state.lastWarning) >= 60 else { return (oldest.value.channel, nil) }
            state.lastWarning = now
            return (oldest.value.channel, "more than \(limit) connections without a valid token: closing the oldest (\(state.evicted) closed so far)")
        }
        if let warning { logger.warning("\(warning)") }
        victim?.close(promise: nil)
    }

    /// The connection showed a valid token: it no longer counts against the limit.
    func authenticated(_ connection: ObjectIdentifier) {
        _ = state.withLock { $0.waiting.removeValue(forKey: connection) }
    }

    func closed(_ channel: any Channel) {
        _ = state.withLock { $0.waiting.removeValue(forKey: ObjectIdentifier(channel)) }
    }

    /// Connections now open without a valid token.
    var unauthenticated: Int { state.withLock { $0.waiting.count } }
}
