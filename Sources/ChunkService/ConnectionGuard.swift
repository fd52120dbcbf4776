import Foundation
import HTTPTypes
import NIOCore
import NIOHTTP1
import NIOHTTPTypes
import RescueProtocol

/// The time limits of one connection of the chunk service, at the level of HTTP parts (after
/// decoding, so a request head dribbled a byte at a time counts as not yet received):
///
/// | waiting for | limit | then |
/// |---|---|---|
/// | the first request head, from connecting (TLS handshake included) | `headerTimeout` | close |
/// | the rest of a request (its body), from its head | `bodyTimeout` | `408` with a reason if no answer was started, then close |
/// | the next request head, from the end of the last answer | `idleTimeout` | close |
///
/// While a route works on a request no limit runs. It also registers the connection with the
/// `ConnectionGate` and removes it when it closes. One instance per connection, on its event loop.
final class ConnectionGuard: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    struct Limits: Sendable {
        var headerTimeout: TimeAmount
        var bodyTimeout: TimeAmount
        var idleTimeout: TimeAmount
    }

    private enum Wait { case firstHead, body, nextHead }

    private let limits: Limits
    private let gate: ConnectionGate
    private var started = false
    private var timer: Scheduled<Void>?
    private var readingRequest = false
    /// Request heads read minus answers finished.
    private var outstanding = 0
    private var answerStarted = false

    init(limits: Limits, gate: ConnectionGate) {
        self.limits = limits
        self.gate = gate
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { start(context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        start(context)
        context.fireChannelActive()
    }

    private func start(_ context: ChannelHandlerContext) {
        guard !started else { return }
        started = true
        gate.admit(context.channel)
        arm(context, .firstHead)
    }

    func channelInactive(context: ChannelHandlerContext) {
        cancel()
        gate.closed(context.channel)
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        cancel()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head:
            readingRequest = true
            outstanding += 1
            arm(context, .body)
        case .body:
            break
        case .end:
            readingRequest = false
            cancel()
            if outstanding == 0 { arm(context, .nextHead) }
        }
        context.fireChannelRead(data)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // A request that cannot be decoded will not be read further; its route answers 400.
        if error is HTTPParserError, readingRequest {
            readingRequest = false
            cancel()
        }
        context.fireErrorCaught(error)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        switch unwrapOutboundIn(data) {
        case .head:
            answerStarted = true
        case .body:
            break
        case .end:
            answerStarted = false
            outstanding = max(0, outstanding - 1)
            if outstanding == 0 && !readingRequest { arm(context, .nextHead) }
        }
        context.write(data, promise: promise)
    }

    private func arm(_ context: ChannelHandlerContext, _ wait: Wait) {
        cancel()
        let delay: TimeAmount
        switch wait {
        case .firstHead: delay = limits.headerTimeout
        case .body: delay = limits.bodyTimeout
        case .nextHead: delay = limits.idleTimeout
        }
        timer = context.eventLoop.assumeIsolatedUnsafeUnchecked().scheduleTask(in: delay) {
            self.timer = nil
            self.expired(context, wait)
        }
    }

    private func cancel() {
        timer?.cancel()
        timer = nil
    }

    private func expired(_ context: ChannelHandlerContext, _ wait: Wait) {
        guard wait == .body, !answerStarted else {
            context.close(promise: nil)
            return
        }
        // The route may be waiting for this body: answer in its place, then close.
        let seconds = limits.bodyTimeout.nanoseconds / 1_000_000_000
        let message = "the request body did not arrive within \(seconds) s (a chunk size larger than the data sent, or a stalled client); closing the connection"
        let body = (try? JSONEncoder().encode(ErrorMessage(error: message))).map { ByteBuffer(bytes: $0) } ?? ByteBuffer()
        answerStarted = true
        let head = HTTPResponse(status: .requestTimeout, headerFields: [
            .contentType: "application/json", .contentLength: String(body.readableBytes), .connection: "close",
        ])
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        context.write(wrapOutboundOut(.body(body)), promise: nil)
        let bound = NIOLoopBound(context, eventLoop: context.eventLoop)
        context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in bound.value.close(promise: nil) }
    }
}

@available(*, unavailable)
extension ConnectionGuard: Sendable {}
