import Foundation
import Testing
import TestSupport

@Suite("CLI: a full disk", .enabled(if: getuid() == 0, "needs root to mount a small tmpfs"))
struct DiskFullTests {
    @Test func captureOnAFullDiskFailsCleanlyAndTheStoreStaysValid() throws {
        let dir = TempDir("full")
        let mount = dir.file("small")
        try FileManager.default.createDirectory(atPath: mount, withIntermediateDirectories: true)
        let mounted = shell("mount -t tmpfs -o size=24m tmpfs \(mount)")
        try #require(mounted.status == 0, "cannot mount tmpfs: \(mounted.output)")
        defer { shell("umount \(mount)") }
        let cli = CLI(store: mount + "/store")
        let small = dir.file("small.img"), big = dir.file("big.img")
        try Disks.make(small, size: 2 << 20, seed: 91)
        let first = try cli.capture("m", small)
        // 40 MiB of random data cannot fit in what is left of 24 MiB.
        var rng = SeededRandom(seed: 92)
        _ = FileManager.default.createFile(atPath: big, contents: Data(Disks.randomBytes(40 << 20, using: &rng)))
        let r = try cli.run(["capture", "m", big, "--allow-shrink"])
        #expect(r.status == 1)
        #expect(r.stderr.contains("file system full"), "\(r.stderr)")
        #expect(!r.stderr.contains("Fatal error"))
        #expect(try cli.run(["verify", "--chunks"]).status == 0)
        #expect(try cli.run(["restore", "m", dir.file("out.img"), "--point", String(first)]).status == 0)
        #expect(Disks.equal(dir.file("out.img"), small))
        // The failed capture's staging was removed: the next capture fits again.
        try Disks.mutate(small, seed: 93, writes: 3)
        _ = try cli.capture("m", small)
    }

    /// A module's tables (schedules here) name a full disk as the catalog does, not as "disk I/O error".
    @Test func aScheduleChangeOnAFullDiskSaysTheDiskIsFull() throws {
        let dir = TempDir("full-schedule")
        let mount = dir.file("small")
        try FileManager.default.createDirectory(atPath: mount, withIntermediateDirectories: true)
        let mounted = shell("mount -t tmpfs -o size=8m tmpfs \(mount)")
        try #require(mounted.status == 0, "cannot mount tmpfs: \(mounted.output)")
        defer { shell("umount \(mount)") }
        let cli = CLI(store: mount + "/store")
        let disk = dir.file("disk.img")
        try Disks.make(disk, size: 1 << 20, seed: 94)
        _ = try cli.capture("web", disk)
        #expect(try cli.run(["schedule", "set", "web", "--build", "0 2 * * *"]).status == 0)
        shell("dd if=/dev/zero of=\(mount)/filler bs=1M count=64 2>/dev/null")
        let r = try cli.run(["schedule", "set", "web", "--build", "0 3 * * *"])
        #expect(r.status == 1)
        #expect(r.stderr.contains("file system full"), "\(r.stderr)")
        #expect(!r.stderr.contains("readonly database"), "\(r.stderr)")
        shell("rm -f \(mount)/filler")
        let list = try cli.run(["schedule", "list"])
        #expect(list.status == 0 && list.stdout.contains("0 2 * * *"), "the refused change altered the schedule: \(list.output)")
    }
}
