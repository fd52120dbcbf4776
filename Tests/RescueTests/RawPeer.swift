import Foundation
import TestSupport

/// `understudy serve --listen` on 127.0.0.1 started the way a fresh Debian machine runs it: with
/// the usual soft open-file limit of 1,024 (the hard limit is left as it is).
final class LimitedServer {
    let process = Process()
    let url: String
    var port: String { String(url.split(separator: ":").last ?? "") }
    var pid: Int32 { process.processIdentifier }

    init(store: String, extra: [String] = []) throws {
        process.executableURL = URL(fileURLWithPath: "/bin/bash")
        process.arguments = ["-c", #"ulimit -Sn 1024 && exec "$0" "$@""#, CLI.binary,
                             "serve", "--listen", "127.0.0.1:0", "--duration", "600", "--store", store] + extra
        let out = Pipe()
        process.standardOutput = out
        process.standardError = FileHandle.nullDevice
        try process.run()
        var seen = ""
        while !seen.contains("\n") {
            let chunk = out.fileHandleForReading.availableData
            if chunk.isEmpty { throw CLIError(message: "serve exited before listening: \(seen)") }
            seen += String(decoding: chunk, as: UTF8.self)
        }
        guard let line = seen.split(separator: "\n").first(where: { $0.hasPrefix("listening on ") }) else {
            throw CLIError(message: "serve printed \(seen)")
        }
        url = String(line.dropFirst("listening on ".count))
    }

    deinit { kill(process.processIdentifier, SIGKILL); process.waitUntilExit() }

    /// Descriptors the server holds now.
    var openFiles: Int { (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/fd").count) ?? -1 }

    /// The soft open-file limit of the running server.
    var softFileLimit: Int {
        let limits = (try? String(contentsOfFile: "/proc/\(pid)/limits", encoding: .utf8)) ?? ""
        let line = limits.split(separator: "\n").first { $0.hasPrefix("Max open files") } ?? ""
        return Int(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst(3).first ?? "") ?? -1
    }
}

/// A hostile or careless peer, in Python on raw sockets: connects to 127.0.0.1 only, sends exactly
/// the bytes given, and reports what came back and whether the server closed the connection.
enum RawPeer {
    /// Sends `bytes` (a Python bytes literal), then reads until the server closes or `wait` seconds
    /// pass. Returns the answer and whether the connection was closed by the server.
    static func exchange(port: String, bytes: String, wait: Double) -> (answer: String, closed: Bool) {
        let script = """
            import socket, sys, time
            s = socket.create_connection(("127.0.0.1", \(port)))
            s.sendall(\(bytes))
            s.settimeout(0.5)
            data, closed, end = b"", False, time.time() + \(wait)
            while time.time() < end:
                try:
                    part = s.recv(65536)
                except socket.timeout:
                    continue
                except ConnectionResetError:
                    closed = True
                    break
                if not part:
                    closed = True
                    break
                data += part
            sys.stdout.write(("CLOSED\\n" if closed else "OPEN\\n") + data.decode("utf-8", "replace"))
            """
        let r = shell("python3 -c '\(script.replacingOccurrences(of: "'", with: "'\\''"))'")
        let closed = r.output.hasPrefix("CLOSED\n")
        return (String(r.output.drop { $0 != "\n" }.dropFirst()), closed)
    }

    /// Opens `count` TCP connections that say nothing and holds them until `release()`.
    final class IdleCrowd {
        let process = Process()
        let input = Pipe()
        /// Connections the kernel completed (the server may close some at once).
        let opened: Int

        init(port: String, count: Int) throws {
            let script = """
                import resource, socket, sys
                soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
                resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
                held, opened = [], 0
                for _ in range(\(count)):
                    try:
                        s = socket.create_connection(("127.0.0.1", \(port)), timeout=5)
                        held.append(s)
                        opened += 1
                    except OSError:
                        pass
                print(opened, flush=True)
                sys.stdin.read()
                """
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            process.arguments = ["python3", "-c", script]
            let out = Pipe()
            process.standardOutput = out
            process.standardInput = input
            process.standardError = FileHandle.nullDevice
            try process.run()
            let line = String(decoding: out.fileHandleForReading.availableData, as: UTF8.self)
            opened = Int(line.trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0
        }

        func release() {
            try? input.fileHandleForWriting.close()
            process.waitUntilExit()
        }

        deinit { if process.isRunning { kill(process.processIdentifier, SIGKILL); process.waitUntilExit() } }
    }
}
