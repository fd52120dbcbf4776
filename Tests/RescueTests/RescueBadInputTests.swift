import BlockStore
import Foundation
import Testing
import TestSupport

/// Tokens, hostile requests, wrong targets and corrupt chunks: one clear message each.
@Suite("Rescue: tokens, bad requests, bad targets", .serialized)
struct RescueBadInputTests {
    @Test("requests without a valid token are refused; a revoked token stops working")
    func tokens() throws {
        let h = RescueHarness()
        try h.capture(size: 2 * 1048576, seed: 510)
        try h.makeToken("site-a")
        try h.startServer()
        let none = h.curl("\(h.url)/api/v1/machines")
        #expect(none.status == 401 && none.body.contains("token create"), "\(none)")
        let wrong = h.curl("-H 'Authorization: Bearer ust_0000' \(h.url)/api/v1/machines")
        #expect(wrong.status == 401 && wrong.body.contains("not valid"))
        let good = h.curl("-H 'Authorization: Bearer \(h.token)' \(h.url)/api/v1/machines")
        #expect(good.status == 200 && good.body.contains("\"name\":\"m\""), "\(good)")
        let list = try h.cli.run(["token", "list"])
        #expect(list.stdout.contains("site-a") && !list.stdout.contains(h.token), "secrets are never listed")
        #expect(try h.cli.run(["token", "create", "--name", "site-a"]).stderr.contains("exists"))
        #expect(try h.cli.run(["token", "revoke", "site-a"]).status == 0)
        let revoked = h.rescue(["--machine", "m", "--target", h.dir.file("t.img")])
        #expect(revoked.status == 1 && revoked.stderr.contains("401") && revoked.stderr.contains("not valid"), "\(revoked.output)")
        #expect(!FileManager.default.fileExists(atPath: h.dir.file("t.img")), "nothing is written without a point")
    }

    @Test("hostile and malformed requests get a 4xx with a reason, and the server keeps serving")
    func hostileRequests() throws {
        let h = RescueHarness()
        try h.capture(size: 2 * 1048576, seed: 511)
        try h.makeToken()
        try h.startServer()
        let auth = "-H 'Authorization: Bearer \(h.token)'"
        #expect(h.curl("\(auth) \(h.url)/api/v1/machines/nosuch/points").status == 404)
        #expect(h.curl("\(auth) \(h.url)/api/v1/machines/m/points/99999/index").status == 404)
        #expect(h.curl("\(auth) \(h.url)/api/v1/machines/m/points/yesterday/index").status == 400)
        #expect(h.curl("\(auth) --path-as-is \(h.url)/api/v1/machines/..%2F..%2Fetc/points").status == 404)
        #expect(h.curl("\(auth) \(h.url)/../../etc/passwd --path-as-is").status == 404)
        let odd = h.curl("\(auth) -X POST --data-binary 'abc' \(h.url)/api/v1/chunks")
        #expect(odd.status == 400 && odd.body.contains("multiple of 32"), "\(odd)")
        let big = h.dir.file("big.bin")
        _ = FileManager.default.createFile(atPath: big, contents: Data(count: 32 * 5000))
        #expect([400, 413].contains(h.curl("\(auth) -X POST --data-binary @\(big) \(h.url)/api/v1/chunks").status))
        // A chunk the store does not have is a failure record, not a crash or a hang.
        let absent = h.dir.file("absent.bin")
        _ = FileManager.default.createFile(atPath: absent, contents: Data(repeating: 0xAB, count: 32))
        let missing = h.curl("\(auth) -X POST --data-binary @\(absent) \(h.url)/api/v1/chunks")
        #expect(missing.status == 200 && missing.body.contains("missing from the server's store"))
        // Garbage on the socket, then a normal request still works.
        let port = h.url.split(separator: ":").last.map(String.init) ?? ""
        shell("printf 'NOT HTTP AT ALL\\r\\n\\r\\n\\x00\\xff' | timeout 5 bash -c 'cat > /dev/tcp/127.0.0.1/\(port)'")
        #expect(h.curl("\(auth) \(h.url)/api/v1/machines").status == 200)
    }

    @Test("a target smaller than the disk, a used disk without --yes, bad server URLs: refused before writing")
    func badTargets() throws {
        let h = RescueHarness()
        try h.capture(size: 8 * 1048576, seed: 512)
        try h.makeToken()
        try h.startServer()
        // A disk that holds an MBR: no terminal to ask, so no.
        let used = h.dir.file("used.img")
        var mbr = Data(count: 4 << 20)
        mbr[510] = 0x55; mbr[511] = 0xAA
        _ = FileManager.default.createFile(atPath: used, contents: mbr)
        let refused = h.rescue(["--machine", "m", "--target", used])
        #expect(refused.status == 1 && refused.stderr.contains("MBR") && refused.stderr.contains("--yes"), "\(refused.output)")
        #expect(FileManager.default.contents(atPath: used) == mbr, "a refused target is untouched")
        #expect(h.rescue(["--machine", "m", "--target", used, "--yes"]).status == 0)
        // Bad server and arguments.
        let badURL = h.rescue(["--machine", "m", "--target", used, "--server", "ftp://x"])
        #expect(badURL.status != 0)
        let r = shell("'\(RescueHarness.rescueBinary)' --server nothttp --token x --machine m --target /tmp/x 2>&1")
        #expect(r.status == 1 && r.output.contains("not an http:// or https:// URL"), "\(r.output)")
        let noTarget = h.rescue(["--machine", "m"])
        #expect(noTarget.status == 64 && noTarget.stderr.contains("--target"), "\(noTarget.output)")
        let unknown = h.rescue(["--machine", "ghost", "--target", h.dir.file("g.img")])
        #expect(unknown.status == 1 && unknown.stderr.contains("ghost"), "\(unknown.output)")
        h.stopServer()
        let down = h.rescue(["--machine", "m", "--target", h.dir.file("down.img")])
        #expect(down.status == 1 && down.stderr.contains("cannot reach"), "\(down.output)")
    }

    @Test("a block device smaller than the disk is refused", .enabled(if: LoopDevice.available, "needs root and loop devices"))
    func smallDevice() throws {
        let h = RescueHarness()
        try h.capture(size: 8 * 1048576, seed: 513)
        try h.makeToken()
        try h.startServer()
        let small = h.dir.file("small.img")
        _ = FileManager.default.createFile(atPath: small, contents: nil)
        truncate(small, 4 << 20)
        let device = try LoopDevice(small)
        let r = h.rescue(["--machine", "m", "--target", device.path])
        #expect(r.status == 1 && r.stderr.contains("smaller than"), "\(r.output)")
        // A device as large: restored exactly, zero blocks zeroed (not left as they were).
        let big = h.dir.file("big.img")
        _ = FileManager.default.createFile(atPath: big, contents: Data(repeating: 0x5A, count: 8 << 20))
        let bigDevice = try LoopDevice(big)
        let ok = h.rescue(["--machine", "m", "--target", bigDevice.path, "--yes", "--verify"])
        #expect(ok.status == 0, "\(ok.output)")
        #expect(Disks.equal(big, try h.localRestore()))
    }

    @Test("a chunk corrupt on the server stops the restore, naming chunk, block and offset")
    func corruptChunk() throws {
        let h = RescueHarness()
        let point = try h.capture(size: 4 * 1048576, seed: 514, regions: 30)
        try h.makeToken()
        // Flip a byte inside the first data chunk's stored frame.
        let store = try Store(path: h.dir.file("store"), create: false)
        let p = try #require(try store.catalog.point(point))
        let reader = BlockIndexReader(p.index, chunks: store.chunks)
        let block = try #require((0..<p.blockCount).first { (try? reader.entry($0).isZero) == false })
        let id = try reader.entry(block)
        let location = try #require(try store.chunks.location(of: id))
        let pack = try FileHandle(forUpdating: URL(fileURLWithPath: store.layout.pack(location.pack)))
        try pack.seek(toOffset: UInt64(location.offset) + UInt64(location.length / 2))
        let byte = try #require(try pack.read(upToCount: 1))
        try pack.seek(toOffset: UInt64(location.offset) + UInt64(location.length / 2))
        pack.write(Data([byte[0] ^ 0xFF]))
        try pack.close()
        try h.startServer()
        let r = h.rescue(["--machine", "m", "--target", h.dir.file("t.img")])
        #expect(r.status == 1, "\(r.output)")
        #expect(r.stderr.contains(id.hex) && r.stderr.contains("block \(block)") && r.stderr.contains("failed verification"), "\(r.stderr)")
        #expect(r.stderr.contains("asking the server again"), "a bad chunk is fetched again before giving up")
    }
}
