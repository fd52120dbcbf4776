import BlockStore
import Capture
import DiskImage
import Foundation
import Testing
import TestSupport
import Core

@Suite("Formats: bad input gets a clear error and leaves no partial file")
struct ImageBadInputTests {
    /// A point of a disk larger than the format allows is refused before anything is written.
    @Test(arguments: FormatRegistry.all.map { $0.name })
    func diskTooLargeForTheFormat(_ name: String) throws {
        let format = try FormatRegistry.format(named: name)
        for variant in format.variants {
            let limit = format.maxDiskSize(variant: variant)
            guard limit < Int64.max / 2 else { continue }
            let dir = TempDir("big")
            let store = try Store(path: dir.file("store"), create: true)
            let size = limit + 1 << 20
            let point = RecoveryPoint(id: 1, machine: "huge", time: Date(), diskSize: size, blockSize: 65536,
                                      index: BlockIndexRoot(root: .zero, depth: BlockIndexRoot.depth(for: Int(size / 65536)), blockCount: Int(size / 65536)),
                                      parent: nil, source: "test", stats: CaptureStats())
            var options = ImageBuilder.Options()
            options.format = format
            options.variant = variant
            let target = dir.file("huge.\(name)")
            let error = #expect(throws: UnderstudyError.self) { try ImageBuilder.build(store: store, point: point, to: target, options: options) }
            #expect(error?.code == .unsupported)
            #expect(error?.message.contains("does not fit") == true)
            #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path) == ["store"])
        }
    }

    @Test func updateRefusesAnotherMachineFormatOrAModifiedImage() throws {
        let dir = TempDir("conflict")
        let cli = CLI(store: dir.file("store"))
        let disk = dir.file("disk.img")
        try Disks.make(disk, size: 8 << 20, seed: 401)
        _ = try cli.capture("alpha", disk)
        _ = try cli.capture("beta", disk)
        let image = dir.file("alpha.qcow2")
        #expect(try cli.run(["restore", "alpha", image, "--format", "qcow2"]).status == 0)

        let other = try cli.run(["restore", "beta", image])
        #expect(other.status == 1 && other.stderr.contains("holds machine alpha"), "\(other.stderr)")
        let format = try cli.run(["restore", "alpha", image, "--format", "raw", "--update"])
        #expect(format.status == 1 && format.stderr.contains("is a qcow2 image, not raw"), "\(format.stderr)")

        // Something else writes the image (as a guest booted read-write would).
        let h = try FileHandle(forWritingTo: URL(fileURLWithPath: image))
        try h.seek(toOffset: 2 << 20)
        h.write(Data("guest was here".utf8))
        try h.close()
        let modified = try cli.run(["restore", "alpha", image])
        #expect(modified.status == 1 && modified.stderr.contains("modified outside Understudy") && modified.stderr.contains("--force-full"))
        let rebuilt = try cli.run(["restore", "alpha", image, "--force-full", "--json"])
        #expect(rebuilt.status == 0 && rebuilt.stdout.contains("\"mode\" : \"full\""))
        #expect(QemuImg.check(image, format: "qcow2").status == 0)

        let stray = dir.file("stray.img")
        _ = FileManager.default.createFile(atPath: stray, contents: Data(count: 4096))
        let noRecord = try cli.run(["restore", "alpha", stray, "--update"])
        #expect(noRecord.status == 1 && noRecord.stderr.contains("not built by Understudy"))
        let unknown = try cli.run(["restore", "alpha", dir.file("x.img"), "--format", "vdi"])
        #expect(unknown.status == 2 && unknown.stderr.contains("unknown image format 'vdi'"))
        let variant = try cli.run(["restore", "alpha", dir.file("x.img"), "--format", "qcow2", "--subformat", "v9"])
        #expect(variant.status == 2 && variant.stderr.contains("no subformat 'v9'"))
    }

    @Test(.enabled(if: getuid() == 0, "needs root to mount a small tmpfs"))
    func fullTargetDiskLeavesNothingBehind() throws {
        let dir = TempDir("fullimg")
        let cli = CLI(store: dir.file("store"))
        let disk = dir.file("disk.img")
        var rng = SeededRandom(seed: 402)
        _ = FileManager.default.createFile(atPath: disk, contents: Data(Disks.randomBytes(24 << 20, using: &rng)))
        _ = try cli.capture("m", disk)
        let mount = dir.file("small")
        try FileManager.default.createDirectory(atPath: mount, withIntermediateDirectories: true)
        try #require(shell("mount -t tmpfs -o size=8m tmpfs \(mount)").status == 0)
        defer { shell("umount \(mount)") }
        for format in ["raw", "qcow2"] {
            let r = try cli.run(["restore", "m", mount + "/out.\(format)", "--format", format])
            #expect(r.status == 1 && r.stderr.contains("file system full"), "\(format): \(r.output)")
            #expect(try FileManager.default.contentsOfDirectory(atPath: mount).isEmpty, "\(format) left files behind")
        }
    }
}
