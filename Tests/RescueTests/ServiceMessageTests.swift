import Foundation
import Testing
import TestSupport

/// Issue #8, finding 8 (service and client): each bad input gets one answer that says what is wrong.
@Suite("Rescue service: messages for malformed requests and a dead server", .serialized)
struct ServiceMessageTests {
    @Test("malformed chunked encoding is a 400 that says so, not a 413 about size")
    func malformedChunked() throws {
        let h = RescueHarness()
        try h.capture(size: 1 << 20, seed: 550)
        try h.makeToken()
        try h.startServer()
        let port = String(h.url.split(separator: ":").last ?? "")
        let head = #"POST /api/v1/chunks HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer \#(h.token)\r\nTransfer-Encoding: chunked\r\n\r\n"#
        let r = RawPeer.exchange(port: port, bytes: #"b"\#(head)zz\r\nabc\r\n0\r\n\r\n""#, wait: 10)
        #expect(r.answer.hasPrefix("HTTP/1.1 400"), "\(r.answer)")
        #expect(r.answer.contains("chunked") && !r.answer.contains("larger than"), "\(r.answer)")
        #expect(h.curl("-H 'Authorization: Bearer \(h.token)' \(h.url)/api/v1/machines").status == 200)
    }

    @Test("a chunk size far larger than the data sent gets a 408 with a reason after --body-timeout")
    func hugeChunkSize() throws {
        let h = RescueHarness()
        try h.capture(size: 1 << 20, seed: 551)
        try h.makeToken()
        let server = try LimitedServer(store: h.dir.file("store"), extra: ["--body-timeout", "1"])
        let head = #"POST /api/v1/chunks HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer \#(h.token)\r\nTransfer-Encoding: chunked\r\n\r\n"#
        let r = RawPeer.exchange(port: server.port, bytes: #"b"\#(head)fffffffffffffff\r\nabc""#, wait: 15)
        #expect(r.answer.hasPrefix("HTTP/1.1 408") && r.answer.contains("did not arrive"), "\(r.answer)")
        #expect(r.closed)
        // A declared length over the limit is still the size error.
        let big = h.dir.file("big.bin")
        _ = FileManager.default.createFile(atPath: big, contents: Data(count: 32 * 1025))
        let tooLarge = h.curl("-H 'Authorization: Bearer \(h.token)' -X POST --data-binary @\(big) \(server.url)/api/v1/chunks")
        #expect(tooLarge.status == 413 && tooLarge.body.contains("larger than"), "\(tooLarge)")
    }

    @Test("a machine name with an encoded NUL or a broken escape is refused, not served as a shorter name")
    func encodedNUL() throws {
        let h = RescueHarness()
        try h.capture(size: 1 << 20, seed: 552, machine: "m1")
        try h.makeToken()
        try h.startServer()
        let auth = "-H 'Authorization: Bearer \(h.token)'"
        #expect(h.curl("\(auth) \(h.url)/api/v1/machines/m1/points").status == 200)
        for path in ["m1%00x/points", "m1%00x/points/latest/index", "m1%0a/points", "m1%zz/points"] {
            let r = h.curl("\(auth) \(h.url)/api/v1/machines/\(path)")
            #expect(r.status == 400 && !r.body.contains("\"machine\":\"m1\""), "\(path): \(r)")
        }
        let control = h.curl("\(auth) \(h.url)/api/v1/machines/m1%00x/points")
        #expect(control.body.contains("control character"), "\(control)")
        #expect(h.curl("\(auth) \(h.url)/api/v1/machines/m1/points/1%00/index").status == 400)
    }

    @Test("the rescue client facing a dead server says the connection was refused, in words")
    func deadServer() throws {
        let h = RescueHarness()
        try h.capture(size: 1 << 20, seed: 553)
        try h.makeToken()
        try h.startServer()
        h.stopServer()
        let r = h.rescue(["--machine", "m", "--target", h.dir.file("t.img")])
        #expect(r.status == 1, "\(r.output)")
        #expect(r.stderr.contains("cannot reach") && r.stderr.contains("connection refused") && r.stderr.contains("understudy serve"), "\(r.stderr)")
        #expect(!r.stderr.contains("errno") && !r.stderr.contains("error set"), "\(r.stderr)")
    }
}
