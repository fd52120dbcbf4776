import Foundation
import Testing
import TestSupport

/// Issue #8, finding 3: peers that connect and say nothing must not lock out clients with a token.
@Suite("Rescue service: idle and slow connections", .serialized)
struct IdleConnectionTests {
    @Test("1,100 idle connections (more than the usual 1,024 open files): a client with a token is still answered")
    func idleCrowd() throws {
        let h = RescueHarness()
        try h.capture(size: 1 << 20, seed: 540)
        try h.makeToken()
        let server = try LimitedServer(store: h.dir.file("store"))
        #expect(server.softFileLimit > 1024, "the server raises its open-file limit at start-up")
        let crowd = try RawPeer.IdleCrowd(port: server.port, count: 1100)
        defer { crowd.release() }
        try #require(crowd.opened >= 1024, "only \(crowd.opened) connections opened; the test proves nothing")
        let answer = h.curl("-H 'Authorization: Bearer \(h.token)' \(server.url)/api/v1/machines")
        #expect(answer.status == 200 && answer.body.contains("\"name\":\"m\""), "\(answer)")
        // Unauthenticated connections are capped (256 by default): the crowd does not hold 1,100 descriptors.
        #expect(server.openFiles < 400, "the server holds \(server.openFiles) descriptors")
    }

    @Test("a connection that sends nothing, or half a request head, is closed after --header-timeout")
    func headerTimeout() throws {
        let h = RescueHarness()
        try h.capture(size: 1 << 20, seed: 541)
        try h.makeToken()
        let server = try LimitedServer(store: h.dir.file("store"), extra: ["--header-timeout", "1"])
        let silent = RawPeer.exchange(port: server.port, bytes: #"b"""#, wait: 15)
        #expect(silent.closed, "a silent connection stays open: \(silent.answer)")
        let half = RawPeer.exchange(port: server.port, bytes: #"b"GET /api/v1/machines HTTP/1.1\r\nHost: x\r\n""#, wait: 15)
        #expect(half.closed, "a connection with half a request head stays open: \(half.answer)")
        #expect(h.curl("-H 'Authorization: Bearer \(h.token)' \(server.url)/api/v1/machines").status == 200)
    }

    @Test("a kept-alive connection is closed after --idle-timeout; a client with a token may use it until then")
    func idleTimeout() throws {
        let h = RescueHarness()
        try h.capture(size: 1 << 20, seed: 542)
        try h.makeToken()
        let server = try LimitedServer(store: h.dir.file("store"), extra: ["--idle-timeout", "1"])
        let request = #"b"GET /api/v1/machines HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer \#(h.token)\r\n\r\n""#
        let r = RawPeer.exchange(port: server.port, bytes: request, wait: 15)
        #expect(r.answer.hasPrefix("HTTP/1.1 200") && r.answer.contains("\"name\":\"m\""), "\(r.answer)")
        #expect(r.closed, "the idle connection stays open")
    }

    @Test("with --max-unauthenticated N, the N+1st silent connection closes the oldest")
    func unauthenticatedCap() throws {
        let h = RescueHarness()
        try h.capture(size: 1 << 20, seed: 543)
        try h.makeToken()
        let server = try LimitedServer(store: h.dir.file("store"), extra: ["--max-unauthenticated", "8"])
        let before = server.openFiles
        let crowd = try RawPeer.IdleCrowd(port: server.port, count: 50)
        defer { crowd.release() }
        Thread.sleep(forTimeInterval: 0.5)
        #expect(server.openFiles <= before + 8, "\(server.openFiles - before) connections held, limit 8")
        #expect(h.curl("-H 'Authorization: Bearer \(h.token)' \(server.url)/api/v1/machines").status == 200)
        let bad = r(["serve", "--listen", "127.0.0.1:0", "--max-unauthenticated", "0", "--duration", "1"], h)
        #expect(bad.status != 0 && bad.stderr.contains("--max-unauthenticated"), "\(bad.output)")
    }

    private func r(_ args: [String], _ h: RescueHarness) -> CLI.Result {
        (try? h.cli.run(args)) ?? CLI.Result(status: -1, stdout: "", stderr: "could not run")
    }
}
