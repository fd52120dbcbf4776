import BlockStore
import Foundation
import Testing
import TestSupport
import ChunkFormat

/// Each bad input: one readable message, a non-zero exit, and a store that still verifies.
@Suite("CLI: bad input gets a clear error")
struct BadInputTests {
    let dir = TempDir("bad")
    var cli: CLI { CLI(store: dir.file("store")) }

    func seeded() throws -> (disk: String, point: Int64) {
        let disk = dir.file("disk.img")
        try Disks.make(disk, size: 2 << 20, seed: 51)
        return (disk, try cli.capture("m", disk))
    }

    func expectFailure(_ args: [String], status: Int32 = 1, mentions: [String]) throws {
        let r = try cli.run(args)
        #expect(r.status == status, "\(args): exit \(r.status): \(r.output)")
        #expect(r.stderr.hasPrefix("understudy: error:") || status == 2, "\(r.stderr)")
        for word in mentions { #expect(r.stderr.contains(word), "\(args): '\(word)' not in: \(r.stderr)") }
        #expect(!r.stderr.contains("Fatal error") && !r.stderr.contains("Stack dump"))
    }

    @Test func missingSourceAndNonDisks() throws {
        try expectFailure(["capture", "m", dir.file("nope.img")], mentions: ["nope.img", "No such file"])
        try expectFailure(["capture", "m", dir.path], mentions: ["neither a regular file nor a block device"])
        try expectFailure(["capture", "m", "/dev/null"], mentions: ["neither a regular file nor a block device"])
        _ = FileManager.default.createFile(atPath: dir.file("empty.img"), contents: nil)
        try expectFailure(["capture", "m", dir.file("empty.img")], mentions: ["empty"])
    }

    @Test func misuseExitsTwo() throws {
        try expectFailure(["capture", "bad/name", dir.file("x")], status: 2, mentions: ["invalid machine name"])
        try expectFailure(["restore", "m", dir.file("x"), "--point", "yesterday"], status: 2, mentions: ["invalid point"])
        try expectFailure(["capture", "m"], status: 2, mentions: ["Missing expected argument"])
        try expectFailure(["capture", "m", dir.file("x"), "--block-size", "100K"], status: 2, mentions: ["power of two"])
    }

    @Test func unknownMachineAndPoint() throws {
        _ = try seeded()
        try expectFailure(["points", "ghost"], mentions: ["unknown machine 'ghost'"])
        try expectFailure(["restore", "m", dir.file("o.img"), "--point", "999"], mentions: ["no point 999"])
        try expectFailure(["restore", "m", dir.file("o.img"), "--point", "@2001-01-01T00:00:00Z"], mentions: ["no point @2001"])
        let missing = try cli.run(["points", "m", "--store", dir.file("nostore")], withStore: false)
        #expect(missing.status == 1 && missing.stderr.contains("no Understudy store"))
    }

    @Test func sourceThatShrankIsRefused() throws {
        let (disk, _) = try seeded()
        truncate(disk, 1 << 20)
        try expectFailure(["capture", "m", disk], mentions: ["shrank", "--allow-shrink"])
        #expect(try cli.run(["capture", "m", disk, "--allow-shrink"]).status == 0)
    }

    @Test func secondCaptureOfTheSameMachineIsRefused() throws {
        let (disk, _) = try seeded()
        do {
            let store = try Store(path: dir.file("store"), create: false)
            let lock = try store.lockMachine("m", purpose: "capture")
            try expectFailure(["capture", "m", disk], mentions: ["process \(getpid())", "machine-m.lock"])
            withExtendedLifetime(lock) {}
        }
        #expect(try cli.run(["capture", "m", disk]).status == 0)
    }

    @Test func storeFromANewerVersionIsRefused() throws {
        let (disk, _) = try seeded()
        try Data("{\"format\": 99}".utf8).write(to: URL(fileURLWithPath: dir.file("store/store.json")))
        try expectFailure(["capture", "m", disk], mentions: ["newer", "upgrade"])
        try expectFailure(["machines"], mentions: ["newer"])
    }

    @Test func corruptCatalogIsNamed() throws {
        let (disk, _) = try seeded()
        for suffix in ["", "-wal", "-shm"] { unlink(dir.file("store/catalog.sqlite" + suffix)) }
        try Data(repeating: 0x5A, count: 8192).write(to: URL(fileURLWithPath: dir.file("store/catalog.sqlite")))
        try expectFailure(["machines"], mentions: ["catalog", "damaged"])
        try expectFailure(["capture", "m", disk], mentions: ["catalog", "damaged"])
    }

    @Test func existingTargetNeedsForceAndMissingFolderIsNamed() throws {
        _ = try seeded()
        _ = FileManager.default.createFile(atPath: dir.file("taken.img"), contents: Data("keep me".utf8))
        try expectFailure(["restore", "m", dir.file("taken.img")], mentions: ["exists", "--force"])
        #expect(FileManager.default.contents(atPath: dir.file("taken.img")) == Data("keep me".utf8))
        try expectFailure(["restore", "m", dir.file("no/such/dir/x.img")], mentions: ["does not exist"])
    }

    @Test func truncatedChunkStopsRestoreWithItsName() throws {
        _ = try seeded()
        let store = try Store(path: dir.file("store"), create: false)
        let point = try #require(try store.catalog.points(of: "m").first)
        var victim: ChunkID?
        try BlockIndexReader.walk(point.index, chunks: store.chunks, page: { _, _, _ in true }, entry: { id, _ in
            if victim == nil && !id.isZero { victim = id }
        })
        let id = try #require(victim)
        let location = try #require(try store.chunks.location(of: id))
        truncate(store.layout.pack(location.pack), off_t(location.offset + 7))
        try expectFailure(["restore", "m", dir.file("o.img")], mentions: ["cut short", "machine m", "pack"])
        #expect(!FileManager.default.fileExists(atPath: dir.file("o.img")))
        let verify = try cli.run(["verify", "--chunks"])
        #expect(verify.status == 1)
        #expect(verify.stdout.contains(id.hex))
    }
}

/// CLI paths not covered elsewhere: schedules, the format list, devices and formats.
@Suite("CLI: schedules and formats from the command line")
struct ScheduleCLITests {
    @Test func scheduleSetListRemoveAndABadCron() throws {
        let dir = TempDir("sched")
        let cli = CLI(store: dir.file("store"))
        try Disks.make(dir.file("d.img"), size: 1 << 20, seed: 801)
        _ = try cli.capture("web", dir.file("d.img"))
        #expect(try cli.run(["schedule", "set", "web", "--build", "0 2 * * *", "--verify", "30 2 * * *"]).status == 0)
        let list = try cli.run(["schedule", "list"])
        #expect(list.stdout.contains("web") && list.stdout.contains("0 2 * * *") && list.stdout.contains("30 2 * * *"), "\(list.stdout)")
        let bad = try cli.run(["schedule", "set", "web", "--build", "61 2 * * *"])
        #expect(bad.status == 2 && bad.stderr.contains("minute"), "\(bad.stderr)")
        let ghost = try cli.run(["schedule", "set", "ghost", "--build", "@daily"])
        #expect(ghost.status == 1 && ghost.stderr.contains("unknown machine 'ghost'"))
        #expect(try cli.run(["schedule", "remove", "web", "--verify"]).status == 0)
        let after = try cli.run(["schedule", "list", "--json"])
        let jobs = try JSONSerialization.jsonObject(with: Data(after.stdout.utf8)) as? [[String: Any]] ?? []
        #expect(jobs.count == 1, "\(after.stdout)")
    }

    @Test func formatsAreListed() throws {
        let r = try CLI(store: "/nonexistent").run(["image", "formats", "--json"])
        #expect(r.status == 0)
        for name in ["raw", "qcow2", "vmdk", "vhd", "vhdx"] { #expect(r.stdout.contains("\"\(name)\"")) }
    }
}
