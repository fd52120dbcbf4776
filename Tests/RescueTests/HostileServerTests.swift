import Foundation
import Testing
import TestSupport

/// The client against a server that is not what it claims: garbage, oversized and truncated
/// answers. Each is one clear message and exit 1; nothing is written to the target.
@Suite("Rescue: a broken or hostile server", .serialized)
struct HostileServerTests {
    /// A tiny HTTP server (Python, loopback only) whose answers come from `script`.
    final class FakeServer {
        let process = Process()
        let url: String

        init(_ handler: String) throws {
            let code = """
                import http.server, sys
                class H(http.server.BaseHTTPRequestHandler):
                    def log_message(self, *a): pass
                    def reply(self, status, body, length=None):
                        self.send_response(status)
                        self.send_header("Content-Length", str(len(body) if length is None else length))
                        self.end_headers()
                        self.wfile.write(body)
                    def do_GET(self):
                \(handler.split(separator: "\n").map { "        " + $0 }.joined(separator: "\n"))
                    do_POST = do_GET
                s = http.server.HTTPServer(("127.0.0.1", 0), H)
                print(s.server_address[1], flush=True)
                s.timeout = 30
                for _ in range(20): s.handle_request()
                """
            process.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
            process.arguments = ["-c", code]
            let out = Pipe()
            process.standardOutput = out
            process.standardError = FileHandle.nullDevice
            try process.run()
            let line = String(decoding: out.fileHandleForReading.availableData, as: UTF8.self)
            url = "http://127.0.0.1:" + line.trimmingCharacters(in: .whitespacesAndNewlines)
        }

        deinit { kill(process.processIdentifier, SIGKILL); process.waitUntilExit() }
    }

    func run(_ server: FakeServer, _ dir: TempDir) -> CLI.Result {
        let h = RescueHarness()
        h.url = server.url
        h.token = "ust_x"
        return h.rescue(["--machine", "m", "--target", dir.file("t.img")])
    }

    @Test("garbage instead of a block map")
    func garbageIndex() throws {
        let dir = TempDir("hostile")
        let r = run(try FakeServer(#"self.reply(200, b"USTYIDX1" + b"\x07" * 100)"#), dir)
        #expect(r.status == 1 && r.stderr.contains("bad block index"), "\(r.output)")
        #expect(!FileManager.default.fileExists(atPath: dir.file("t.img")))
    }

    @Test("an answer far larger than any block map or listing")
    func oversized() throws {
        let dir = TempDir("hostile")
        // Claims 3 GiB: the client stops at its limit instead of filling memory.
        let r = run(try FakeServer(#"self.reply(200, b"x" * 65536, length=3 << 30)"#), dir)
        #expect(r.status == 1 && (r.stderr.contains("more than") || r.stderr.contains("lost")), "\(r.output)")
        #expect(!FileManager.default.fileExists(atPath: dir.file("t.img")))
    }

    @Test("an error status with a body that is not ours")
    func foreignError() throws {
        let dir = TempDir("hostile")
        let r = run(try FakeServer(#"self.reply(404, b"<html>nginx</html>")"#), dir)
        #expect(r.status == 1 && r.stderr.contains("404") && r.stderr.contains("nginx"), "\(r.output)")
    }

    @Test("an unknown point on a real server is named")
    func unknownPoint() throws {
        let h = RescueHarness()
        try h.capture(size: 1 << 20, seed: 530)
        try h.makeToken()
        try h.startServer()
        let r = h.rescue(["--machine", "m", "--point", "424242", "--target", h.dir.file("t.img")])
        #expect(r.status == 1 && r.stderr.contains("404") && r.stderr.contains("424242"), "\(r.output)")
    }
}

extension HostileServerTests {
    @Test("a JSON listing that is not ours is named, not a decoding trace")
    func foreignListing() throws {
        let server = try FakeServer(#"self.reply(200, b'{"hello": "world"}')"#)
        let h = RescueHarness()
        h.url = server.url
        h.token = "ust_x"
        let r = withExtendedLifetime(server) { h.rescue([], input: "1\n") }
        #expect(r.status == 1 && r.stderr.contains("machine list that is not Understudy's") && r.stderr.contains("hello"), "\(r.output)")
    }
}
