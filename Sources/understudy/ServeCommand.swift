import ArgumentParser
import ChunkService
import Foundation
import Server

extension Understudy {
    struct Serve: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Run the server: the scheduler (standby builds and verifies at their cron times) and, with --listen, the chunk service for rescue clients.")
        @OptionGroup var global: GlobalOptions
        @Option(help: "Stop after this many seconds (for tests and one-shot runs).") var duration: Double?
        @Option(help: "Serve chunks to rescue clients on HOST:PORT (port 0 picks a free one; the address is printed).") var listen: String?
        @Option(name: .customLong("tls-cert"), help: "PEM certificate chain: serve https.") var tlsCert: String?
        @Option(name: .customLong("tls-key"), help: "PEM private key of --tls-cert.") var tlsKey: String?
        @Option(help: "Seconds a new connection has to send its first request head.") var headerTimeout = 10.0
        @Option(help: "Seconds a request body has to arrive after its head.") var bodyTimeout = 30.0
        @Option(help: "Seconds an open connection may wait for its next request.") var idleTimeout = 75.0
        @Option(help: "Connections without a valid token held at once; a new one closes the oldest.") var maxUnauthenticated = 256

        func validate() throws {
            for (name, value) in [("--header-timeout", headerTimeout), ("--body-timeout", bodyTimeout), ("--idle-timeout", idleTimeout)]
            where !(value > 0 && value <= 86400) {
                throw ValidationError("\(name) must be more than 0 and at most 86400 seconds")
            }
            guard (1...65536).contains(maxUnauthenticated) else { throw ValidationError("--max-unauthenticated must be 1 to 65536") }
        }

        func run() async throws {
            // Bad listen options fail before anything is opened or started.
            let listen = try listen.map { listen in
                var options = try ChunkServer.Options(listen: listen, certificate: tlsCert, key: tlsKey)
                options.headerTimeout = headerTimeout
                options.bodyTimeout = bodyTimeout
                options.idleTimeout = idleTimeout
                options.maxUnauthenticated = maxUnauthenticated
                return options
            }
            var options = UnderstudyServer.Options(listen: listen, duration: duration)
            if !global.quiet {
                options.note = { FileHandle.standardError.write(Data("understudy serve: \($0)\n".utf8)) }
            }
            // stdout, flushed: scripts and tests read the address from here.
            options.listening = { FileHandle.standardOutput.write(Data("listening on \($0)\n".utf8)) }
            try await UnderstudyServer(store: try global.openStore(), options: options).run()
        }
    }
}
