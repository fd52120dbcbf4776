import Foundation
import Testing
import TestSupport

/// Issue #8, finding 2.8 (store): messages name the live lock holder, a failed first capture
/// leaves no machine, and a damaged record header is found by `verify --chunks`.
@Suite("CLI: store messages")
struct StoreMessagesTests {
    let dir = TempDir("msgs")
    var cli: CLI { CLI(store: dir.file("store")) }

    /// A disk that takes a capture at level 19 some seconds.
    func slowDisk() -> String {
        let disk = dir.file("big.img")
        var rng = SeededRandom(seed: 701)
        _ = FileManager.default.createFile(atPath: disk, contents: Data(Disks.randomBytes(48 << 20, using: &rng)))
        return disk
    }

    @Test func gcNoWaitNamesTheCaptureThatHoldsTheLockNotAnExitedProcess() throws {
        let small = dir.file("small.img")
        try Disks.make(small, size: 1 << 20, seed: 702)
        _ = try cli.capture("m", small)
        #expect(try cli.run(["gc"]).status == 0)
        // gc.lock now records that gc, which has exited.
        let record = String(decoding: FileManager.default.contents(atPath: dir.file("store/locks/gc.lock")) ?? Data(), as: UTF8.self)
        let stale = try #require(record.split(separator: " ").first { $0.hasPrefix("pid=") }).dropFirst(4)

        let capture = cli.start(["capture", "web1", slowDisk(), "--level", "19"])
        defer { capture.kill() }
        var refused: CLI.Result?
        for _ in 0..<50 {
            let r = try cli.run(["gc", "--no-wait"])
            if r.status != 0 { refused = r; break }
            Thread.sleep(forTimeInterval: 0.1)
        }
        let r = try #require(refused, "gc --no-wait never saw the capture")
        #expect(r.stderr.contains("process \(capture.process.processIdentifier) (understudy capture web1"), "\(r.stderr)")
        #expect(!r.stderr.contains("process \(stale) "), "names the exited gc: \(r.stderr)")
        #expect(r.stderr.contains("gc.lock"))
    }

    @Test func aFailedFirstCaptureLeavesNoMachine() throws {
        let capture = cli.start(["capture", "first", slowDisk(), "--level", "19"])
        Thread.sleep(forTimeInterval: 1.5)
        capture.kill()
        try #require(capture.process.terminationReason == .uncaughtSignal, "the capture ended before it was killed")
        let machines = try cli.run(["machines", "--json"])
        #expect(machines.status == 0)
        #expect(!machines.stdout.contains("first"), "a killed first capture left a machine: \(machines.stdout)")
        // The machine appears with its first point.
        let small = dir.file("small.img")
        try Disks.make(small, size: 1 << 20, seed: 703)
        _ = try cli.capture("first", small, ["--block-size", "128K"])
        let listed = try cli.run(["machines", "--json"])
        #expect(listed.stdout.contains("\"name\" : \"first\"") && listed.stdout.contains("\"points\" : 1"), "\(listed.stdout)")
        #expect(listed.stdout.contains("\"blockSize\" : 131072"), "\(listed.stdout)")
    }

    @Test func aDamagedRecordHeaderIsFoundByVerify() throws {
        let disk = dir.file("disk.img")
        try Disks.make(disk, size: 2 << 20, seed: 704)
        _ = try cli.capture("m", disk)
        #expect(try cli.run(["verify", "--chunks"]).status == 0)
        // The first record's header: a byte of its chunk id.
        let pack = try FileHandle(forUpdating: URL(fileURLWithPath: dir.file("store/packs/1.pack")))
        try pack.seek(toOffset: 20)
        let byte = pack.readData(ofLength: 1)[0]
        try pack.seek(toOffset: 20)
        pack.write(Data([byte ^ 0x01]))
        try pack.close()
        let verify = try cli.run(["verify", "--chunks"])
        #expect(verify.status == 1, "\(verify.output)")
        #expect(verify.stdout.contains("damaged-record-header") && verify.stdout.contains("offset 0 of pack 1")
                && verify.stdout.contains("chunk id"), "\(verify.stdout)")
        // Restores read frames only: still bit-exact.
        #expect(try cli.run(["restore", "m", dir.file("out.img")]).status == 0)
        #expect(Disks.equal(dir.file("out.img"), disk))
    }
}
