import ChunkService
import ServiceLifecycle

/// The chunk service as a service of the server's group (its graceful shutdown stops the listener).
struct ChunkServiceRunner: Service {
    let server: ChunkServer
    let listen: ChunkServer.Options
    let listening: @Sendable (String) -> Void

    func run() async throws {
        try await server.run { port in listening("\(listen.scheme)://\(listen.host):\(port)") }
    }
}
