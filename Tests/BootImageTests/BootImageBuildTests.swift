import Foundation
import Testing
import TestSupport

/// `understudy bootimage` outputs: what a rebuild replaces and what it never leaves behind.
@Suite("bootimage: outputs", .enabled(if: RescueBoot.available, "needs xorriso, cc and a /boot/vmlinuz-*"))
struct BootImageBuildTests {
    let dir = TempDir("bootimage-out")

    func build(_ extra: [String]) throws -> CLI.Result {
        let fake = try FakeRescue.build(in: dir)
        return try CLI(store: dir.file("store")).run(["bootimage", "--rescue-binary", fake] + extra, withStore: false)
    }

    @Test func rebuildReplacesTheOutputsAndLeavesNoTemporaries() throws {
        let iso = dir.file("r.iso"), pxe = dir.file("pxe")
        let first = try build(["--iso", iso, "--pxe", pxe, "--server", "http://a.example:1", "--json"])
        #expect(first.status == 0, "\(first.output)")
        #expect(first.stdout.contains("\"iso\" : \"\(iso)\""), "\(first.stdout)")
        try "stale".write(toFile: pxe + "/stale.txt", atomically: true, encoding: .utf8)
        let second = try build(["--iso", iso, "--pxe", pxe, "--server", "http://b.example:2"])
        #expect(second.status == 0, "\(second.output)")
        #expect(second.stdout.contains("iso: \(iso)") && second.stdout.contains("pxe: \(pxe)"), "\(second.stdout)")
        #expect(!FileManager.default.fileExists(atPath: pxe + "/stale.txt"), "the PXE folder was not replaced")
        let left = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.contains(".tmp.") || $0.contains(".new.") || $0.contains(".old.") }
        #expect(left.isEmpty, "temporaries left: \(left)")
        // the new settings are in the new initramfs
        let conf = shell("cd '\(dir.path)' && zstd -dc pxe/initrd.img | cpio -i --to-stdout etc/understudy.conf 2>/dev/null")
        #expect(conf.output.contains("server=http://b.example:2"), "\(conf.output)")
    }
}
