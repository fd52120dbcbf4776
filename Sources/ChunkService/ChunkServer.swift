public import BlockStore
import Foundation
import Hummingbird
import HummingbirdCore
import HummingbirdTLS
import Logging
import NIOCore
import NIOPosix
import NIOSSL
import Core

/// The chunk service of `understudy serve --listen`: HTTP (or HTTPS with a certificate and key)
/// for rescue clients, every request authenticated by a token.
public struct ChunkServer: Sendable {
    public struct Options: Sendable {
        public var host: String
        public var port: Int
        public var certificate: String?
        public var key: String?
        /// Seconds a new connection has to deliver its first request head (TLS handshake included).
        public var headerTimeout = 10.0
        /// Seconds a request's body has to arrive after its head.
        public var bodyTimeout = 30.0
        /// Seconds a connection may wait for its next request; above the rescue client's 60 s.
        public var idleTimeout = 75.0
        /// Connections without a valid token held at once; more evict the oldest.
        public var maxUnauthenticated = 256

        public init(host: String, port: Int, certificate: String? = nil, key: String? = nil) {
            self.host = host
            self.port = port
            self.certificate = certificate
            self.key = key
        }

        /// Parses `HOST:PORT`, `[IPv6]:PORT` or `:PORT` (all addresses).
        public init(listen: String, certificate: String?, key: String?) throws {
            let host: Substring, port: Substring
            if listen.hasPrefix("["), let close = listen.firstIndex(of: "]") {
                host = listen[listen.index(after: listen.startIndex)..<close]
                port = listen[listen.index(after: close)...].drop { $0 == ":" }
            } else if let colon = listen.lastIndex(of: ":") {
                host = listen[..<colon]
                port = listen[listen.index(after: colon)...]
            } else {
                throw UnderstudyError(.invalidArgument, "--listen \(listen): expected HOST:PORT, e.g. 0.0.0.0:8443")
            }
            guard let number = Int(port), (0...65535).contains(number) else {
                throw UnderstudyError(.invalidArgument, "--listen \(listen): the port must be a number from 0 to 65535")
            }
            guard (certificate == nil) == (key == nil) else {
                throw UnderstudyError(.invalidArgument, "TLS needs both --tls-cert and --tls-key")
            }
            self.init(host: host.isEmpty ? "0.0.0.0" : String(host), port: number, certificate: certificate, key: key)
        }

        public var scheme: String { certificate == nil ? "http" : "https" }
    }

    let store: Store
    let tokens: TokenStore
    let options: Options

    /// Also sets the allocator up for serving (`MemoryTuning`): make the server early, before
    /// the work that starts many threads.
    public init(store: Store, options: Options) throws {
        MemoryTuning.apply()
        self.store = store
        self.tokens = try TokenStore(store: store)
        self.options = options
    }

    /// Serves until the task is cancelled or the enclosing `ServiceGroup` shuts down gracefully
    /// (the `Server` module's group does on SIGTERM/SIGINT). `listening` gets the bound port (the
    /// one asked, or the kernel's pick for port 0).
    public func run(listening: @escaping @Sendable (Int) -> Void) async throws {
        var logger = Logger(label: "understudy.serve")
        logger.logLevel = ProcessInfo.processInfo.environment["UNDERSTUDY_HTTP_LOG"].flatMap(Logger.Level.init(rawValue:)) ?? .warning
        let work = BlockingWork()
        let gate = ConnectionGate(limit: options.maxUnauthenticated, logger: logger)
        let router = Router(context: ServiceContext.self)
        router.add(middleware: TokenAuthMiddleware(tokens: tokens, work: work, gate: gate))
        ChunkRoutes(store: store, work: work).add(to: router)
        let loops = MultiThreadedEventLoopGroup(numberOfThreads: Self.eventLoops)
        let app = Application(
            router: router, server: try serverBuilder(gate: gate),
            configuration: .init(address: .hostname(options.host, port: options.port), serverName: "understudy"),
            onServerRunning: { channel in listening(channel.localAddress?.port ?? options.port) },
            eventLoopGroupProvider: .shared(loops),
            logger: logger)
        let outcome: Result<Void, any Error>
        do { try await app.run(); outcome = .success(()) } catch { outcome = .failure(error) }
        await work.shutdown()
        try? await loops.shutdownGracefully()
        try outcome.get()
    }

    /// Event-loop threads: 8 per core, at least 8 and at most 64. A loop writes the chunk slices of
    /// every connection it owns in one pass before it reads the next request, so with one loop per
    /// core a listing waited behind the slices of ten restores (seconds on 2 cores, issue #8 finding
    /// 7); with 16 loops on 2 cores it waits behind those of one or two (docs/benchmarks.md).
    /// The threads sleep between passes, so a surplus costs only their stacks.
    static let eventLoops = min(64, max(8, 8 * System.coreCount))

    private func serverBuilder(gate: ConnectionGate) throws -> HTTPServerBuilder {
        let limits = ConnectionGuard.Limits(headerTimeout: Self.time(options.headerTimeout), bodyTimeout: Self.time(options.bodyTimeout),
                                            idleTimeout: Self.time(options.idleTimeout))
        let http = HTTP1Channel.Configuration(additionalChannelHandlers: [ConnectionGuard(limits: limits, gate: gate)])
        guard let certificate = options.certificate, let key = options.key else {
            return HTTPServerBuilder { responder in LoopAffineChannel(base: HTTP1Channel(responder: responder, configuration: http)) }
        }
        let tls: TLSConfiguration
        do {
            let chain = try NIOSSLCertificate.fromPEMFile(certificate).map { NIOSSLCertificateSource.certificate($0) }
            let privateKey = try NIOSSLPrivateKey(file: key, format: .pem)
            tls = TLSConfiguration.makeServerConfiguration(certificateChain: chain, privateKey: .privateKey(privateKey))
        } catch {
            throw UnderstudyError(.invalidArgument, "cannot load TLS certificate \(certificate) and key \(key): \(error)")
        }
        return HTTPServerBuilder { responder in
            LoopAffineChannel(base: try TLSChannel(HTTP1Channel(responder: responder, configuration: http), tlsConfiguration: tls))
        }
    }

    private static func time(_ seconds: Double) -> TimeAmount { .nanoseconds(Int64(seconds * 1e9)) }
}
