import Foundation
import Testing
import TestSupport

/// Loop devices stand in for disks: capture from one, restore to others.
@Suite("CLI: block devices", .enabled(if: LoopDevice.available, "needs root and loop devices (losetup)"))
struct DeviceTests {
    @Test func captureFromAndRestoreToBlockDevices() throws {
        let dir = TempDir("dev")
        let cli = CLI(store: dir.file("store"))
        let image = dir.file("src.img")
        try Disks.make(image, size: 8 << 20, seed: 81)
        let source = try LoopDevice(image)
        _ = try cli.capture("phys", source.path)

        // A larger blank disk takes the restore; its first 8 MiB then equal the source.
        _ = FileManager.default.createFile(atPath: dir.file("big.img"), contents: nil)
        truncate(dir.file("big.img"), 12 << 20)
        let big = try LoopDevice(dir.file("big.img"))
        let r = try cli.run(["restore", "phys", big.path])
        #expect(r.status == 0, "\(r.output)")
        #expect(shell("cmp -n \(8 << 20) \(image) \(big.path)").status == 0)

        // Now it holds data: refused without --force, accepted with it.
        let again = try cli.run(["restore", "phys", big.path])
        #expect(again.status == 1 && again.stderr.contains("already holds data") && again.stderr.contains("--force"))
        #expect(try cli.run(["restore", "phys", big.path, "--force"]).status == 0)

        // Only raw goes to a device.
        let qcow = try cli.run(["restore", "phys", big.path, "--format", "qcow2", "--force"])
        #expect(qcow.status == 1 && qcow.stderr.contains("only raw restores go to devices"), "\(qcow.output)")

        // Too small: refused whatever the flags.
        _ = FileManager.default.createFile(atPath: dir.file("small.img"), contents: nil)
        truncate(dir.file("small.img"), 4 << 20)
        let small = try LoopDevice(dir.file("small.img"))
        let tooSmall = try cli.run(["restore", "phys", small.path, "--force"])
        #expect(tooSmall.status == 1 && tooSmall.stderr.contains("the disk needs"))
        withExtendedLifetime((source, big, small)) {}
    }

    /// A 4Kn disk: its sector size comes from the device and reaches the VHDX it is written as.
    @Test func fourKnDeviceGivesA4KnVHDX() throws {
        let dir = TempDir("4kn")
        let cli = CLI(store: dir.file("store"))
        let image = dir.file("src.img")
        try Disks.make(image, size: 8 << 20, seed: 83)
        let r = shell("losetup -f --show --sector-size 4096 \(image)")
        try #require(r.status == 0, "\(r.output)")
        let device = r.output.trimmingCharacters(in: .whitespacesAndNewlines)
        defer { shell("losetup -d \(device)") }
        let capture = try cli.run(["capture", "disk4k", device, "--json"])
        #expect(capture.status == 0 && capture.stdout.contains("\"sectorSize\" : 4096"), "\(capture.output)")
        #expect(try cli.run(["restore", "disk4k", dir.file("d.vhdx"), "--format", "vhdx"]).status == 0)
        let info = shell("vhdiinfo '\(dir.file("d.vhdx"))'")
        #expect(info.output.contains("4096"), "\(info.output)")
        #expect(!info.output.contains("Bytes per sector\t\t: 512"))
    }

    @Test func mountedDeviceIsNeverWritten() throws {
        let dir = TempDir("mnt")
        let cli = CLI(store: dir.file("store"))
        let image = dir.file("src.img")
        try Disks.make(image, size: 8 << 20, seed: 82)
        _ = try cli.capture("phys", image)
        _ = FileManager.default.createFile(atPath: dir.file("fs.img"), contents: nil)
        truncate(dir.file("fs.img"), 16 << 20)
        let device = try LoopDevice(dir.file("fs.img"))
        try FileManager.default.createDirectory(atPath: dir.file("mnt"), withIntermediateDirectories: true)
        #expect(shell("mkfs.ext4 -q \(device.path) && mount \(device.path) \(dir.file("mnt"))").status == 0)
        defer { shell("umount \(dir.file("mnt"))") }
        let r = try cli.run(["restore", "phys", device.path, "--force"])
        #expect(r.status == 1 && r.stderr.contains("in use"), "\(r.output)")
        // The file system is still there and still mounted.
        #expect(shell("blkid -o value -s TYPE \(device.path)").output.contains("ext4"))
        #expect(shell("touch \(dir.file("mnt"))/still-here").status == 0)
    }
}
