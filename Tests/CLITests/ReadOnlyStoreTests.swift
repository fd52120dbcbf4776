import BlockStore
import Foundation
import Testing
import TestSupport

/// Issue #8, finding 2.8 (store): a store on read-only media (a read-only mount, an immutable
/// folder, a read-only tmpfs) lists, verifies and restores; a full disk reads too and says it is
/// full. Changing either fails with one clear message.
@Suite("CLI: a store on read-only media or a full disk", .enabled(if: getuid() == 0, "needs root to mount and chattr"))
struct ReadOnlyStoreTests {
    let dir = TempDir("rostore")

    /// Two points of `m` in the store at `store`; returns the latest id and a copy of its disk.
    func seed(_ store: String, size: Int = 4 << 20) throws -> (Int64, String) {
        let cli = CLI(store: store)
        let disk = dir.file("disk.img")
        try Disks.make(disk, size: size, seed: 601, regions: 40)
        _ = try cli.capture("m", disk)
        try Disks.mutate(disk, seed: 602, writes: 20)
        return (try cli.capture("m", disk), disk)
    }

    /// Reading works, writing is refused with `says`, and nothing beside the catalog appears.
    func expectReadOnly(_ store: String, latest: Int64, image: String, says: String) throws {
        let cli = CLI(store: store)
        let machines = try cli.run(["machines"])
        #expect(machines.status == 0 && machines.stdout.contains("m"), "\(machines.output)")
        let points = try cli.run(["points", "m"])
        #expect(points.status == 0 && points.stdout.contains(String(latest)), "\(points.output)")
        let out = dir.file("restored-\(UUID().uuidString.prefix(6)).img")
        let restore = try cli.run(["restore", "m", out])
        #expect(restore.status == 0, "\(restore.output)")
        #expect(Disks.equal(out, image))
        let verify = try cli.run(["verify", "--chunks"])
        #expect(verify.status == 0, "\(verify.output)")
        let dryRun = try cli.run(["gc", "--dry-run"])
        #expect(dryRun.status == 0, "\(dryRun.output)")
        for args in [["capture", "m", image], ["gc"], ["forget", "m", String(latest)]] {
            let r = try cli.run(args)
            #expect(r.status == 1, "\(args) exits \(r.status): \(r.output)")
            #expect(r.stderr.contains(says) && r.stderr.contains("restored from"), "\(args): \(r.stderr)")
            #expect(!r.stderr.contains("Fatal error") && !r.stderr.contains("disk I/O error"), "\(args): \(r.stderr)")
        }
    }

    func mustShell(_ command: String) throws {
        let r = shell(command)
        try #require(r.status == 0, "\(command): \(r.output)")
    }

    @Test func readOnlyBindMount() throws {
        let store = dir.file("store"), ro = dir.file("ro")
        let (latest, image) = try seed(store)
        try FileManager.default.createDirectory(atPath: ro, withIntermediateDirectories: true)
        try mustShell("mount --bind \(store) \(ro) && mount -o remount,bind,ro \(ro)")
        defer { shell("umount \(ro)") }
        try expectReadOnly(ro, latest: latest, image: image, says: "read-only file system")
    }

    @Test func immutableFolder() throws {
        let store = dir.file("store")
        let (latest, image) = try seed(store)
        try mustShell("chattr +i \(store)")
        defer { shell("chattr -i \(store)") }
        try expectReadOnly(store, latest: latest, image: image, says: "immutable")
    }

    @Test func readOnlyTmpfsRemount() throws {
        let mount = dir.file("tmpfs")
        try FileManager.default.createDirectory(atPath: mount, withIntermediateDirectories: true)
        try mustShell("mount -t tmpfs -o size=64m tmpfs \(mount)")
        defer { shell("umount \(mount)") }
        let (latest, image) = try seed(mount + "/store")
        try mustShell("mount -o remount,ro \(mount)")
        try expectReadOnly(mount + "/store", latest: latest, image: image, says: "read-only file system")
    }

    /// A replica copied while a process had the catalog open: its last change is only in the -wal.
    @Test func changesOnlyInTheWALAreRead() throws {
        let store = dir.file("store"), copy = dir.file("copy"), ro = dir.file("ro")
        let (latest, _) = try seed(store)
        let first = latest - 1
        do {
            let open = try Store(path: store, create: false)
            _ = try open.forget(machine: "m", point: first)
            try #require(FileManager.default.fileExists(atPath: store + "/catalog.sqlite-wal"))
            try mustShell("cp -a \(store) \(copy) && rm -f \(copy)/catalog.sqlite-shm")
            withExtendedLifetime(open) {}
        }
        try FileManager.default.createDirectory(atPath: ro, withIntermediateDirectories: true)
        try mustShell("mount --bind \(copy) \(ro) && mount -o remount,bind,ro \(ro)")
        defer { shell("umount \(ro)") }
        let points = try CLI(store: ro).run(["points", "m", "--json"])
        #expect(points.status == 0, "\(points.output)")
        #expect(points.stdout.contains("\"id\" : \(latest)"), "\(points.stdout)")
        #expect(!points.stdout.contains("\"id\" : \(first)"), "a change held only in the -wal was not read: \(points.stdout)")
    }

    @Test func fullDiskReadsAndSaysItIsFull() throws {
        let mount = dir.file("small")
        try FileManager.default.createDirectory(atPath: mount, withIntermediateDirectories: true)
        try mustShell("mount -t tmpfs -o size=24m tmpfs \(mount)")
        defer { shell("umount \(mount)") }
        let (latest, image) = try seed(mount + "/store", size: 2 << 20)
        shell("dd if=/dev/zero of=\(mount)/filler bs=64k 2>/dev/null")
        var fs = statvfs()
        statvfs(mount, &fs)
        try #require(fs.f_bavail == 0, "the tmpfs is not full")
        try expectReadOnly(mount + "/store", latest: latest, image: image, says: "file system full")
    }
}
