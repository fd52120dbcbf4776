public import Core
import Foundation
import AsyncHTTPClient
import NIOCore
import NIOSSL
public import RescueProtocol

/// The rescue client's side of the chunk service: one HTTP(S) client, a token, byte counters.
public final class RescueConnection: Sendable {
    public struct Options: Sendable {
        public var server: String
        public var token: String
        /// A PEM file of the CA (or the server's self-signed certificate) to trust.
        public var caCertificate: String?
        /// Skip certificate checks (a lab only).
        public var insecure = false

        public init(server: String, token: String, caCertificate: String? = nil, insecure: Bool = false) {
            self.server = server
            self.token = token
            self.caCertificate = caCertificate
            self.insecure = insecure
        }
    }

    let base: String
    let token: String
    let client: HTTPClient
    /// Response body bytes received (index and chunks): what crossed the network, less HTTP headers.
    public let received = AtomicCounter()

    public init(_ options: Options) throws {
        guard let url = URL(string: options.server), let scheme = url.scheme, ["http", "https"].contains(scheme), url.host != nil else {
            throw RescueError("server '\(options.server)' is not an http:// or https:// URL (e.g. http://10.0.0.5:8080)")
        }
        base = options.server.hasSuffix("/") ? String(options.server.dropLast()) : options.server
        token = options.token
        var tls = TLSConfiguration.makeClientConfiguration()
        if options.insecure { tls.certificateVerification = .none }
        if let ca = options.caCertificate {
            do { tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(ca)) } catch {
                throw RescueError("cannot read CA certificate \(ca): \(error)")
            }
        }
        var configuration = HTTPClient.Configuration(tlsConfiguration: tls)
        configuration.timeout = .init(connect: .seconds(10), read: .seconds(120))
        // Below the server's idle limit (75 s), so a pooled connection is not closed under a request.
        configuration.connectionPool = .init(idleTimeout: .seconds(60))
        client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }

    public func shutdown() async { try? await client.shutdown() }

    public func machines() async throws -> [MachineInfo] {
        try decode([MachineInfo].self, try await get(RescueAPI.machines(), limit: 16 << 20), what: "machine list")
    }

    public func points(of machine: String) async throws -> [PointInfo] {
        try decode([PointInfo].self, try await get(RescueAPI.points(machine), limit: 16 << 20), what: "point list of \(machine)")
    }

    private func decode<T: Decodable>(_ type: T.Type, _ body: [UInt8], what: String) throws -> T {
        do { return try JSONDecoder.rescue.decode(type, from: Data(body)) } catch {
            throw RescueError("\(base) sent a \(what) that is not Understudy's (is it an Understudy server?): \(String(decoding: body.prefix(80), as: UTF8.self))")
        }
    }

    public func index(of machine: String, point: String) async throws -> RescueIndex {
        let body = try await get(RescueAPI.index(machine, point: point), limit: 1 << 31)
        do { return try RescueIndex(decoding: body) } catch {
            throw RescueError("the server sent a bad block index: \(error)")
        }
    }

    /// The asked chunks' records, in order. Network trouble is a resumable error.
    public func chunks(_ ids: [ArraySlice<UInt8>], expectedBytes: Int) async throws -> [ChunkRecord] {
        var request = HTTPClientRequest(url: base + RescueAPI.chunks())
        request.method = .POST
        request.headers.add(name: "Authorization", value: "Bearer \(token)")
        request.headers.add(name: "Content-Type", value: "application/octet-stream")
        request.body = .bytes(ByteBuffer(bytes: ChunkRecord.request(ids)))
        let body = try await send(request, limit: expectedBytes + ids.count * 4096 + 65536)
        do { return try ChunkRecord.decodeAll(body) } catch {
            throw RescueError("the server sent a bad chunk response: \(error)", resumable: true)
        }
    }

    private func get(_ path: String, limit: Int) async throws -> [UInt8] {
        var request = HTTPClientRequest(url: base + path)
        request.headers.add(name: "Authorization", value: "Bearer \(token)")
        return try await send(request, limit: limit)
    }

    private func send(_ request: HTTPClientRequest, limit: Int) async throws -> [UInt8] {
        let response: HTTPClientResponse
        let buffer: ByteBuffer
        do {
            response = try await client.execute(request, timeout: .seconds(300))
        } catch {
            throw RescueError("cannot reach \(base): \(describe(error))", resumable: true)
        }
        do {
            buffer = try await response.body.collect(upTo: limit)
        } catch is NIOTooManyBytesError {
            throw RescueError("\(request.url) answered more than \(limit) bytes: not an Understudy chunk server, or a broken one")
        } catch {
            throw RescueError("lost \(base) while receiving \(request.url): \(describe(error))", resumable: true)
        }
        received.add(buffer.readableBytes)
        guard response.status == .ok else {
            let message = (try? JSONDecoder.rescue.decode(ErrorMessage.self, from: Data(Array(buffer: buffer))))?.error
                ?? String(buffer: buffer)
            let retry = response.status.code >= 500 && response.status.code != 501
            throw RescueError("\(base) answered \(response.status.code): \(message)", resumable: retry)
        }
        return Array(buffer: buffer)
    }

    private func describe(_ error: any Error) -> String { ConnectionFailure.describe(error, server: base) }
}
