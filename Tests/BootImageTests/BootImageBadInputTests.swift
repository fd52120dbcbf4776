import Foundation
import Testing
import TestSupport

/// `understudy bootimage` with bad input: one clear message, exit 1 (2 for misuse), nothing left behind.
@Suite("bootimage: bad input")
struct BootImageBadInputTests {
    let dir = TempDir("bootimage-bad")
    var cli: CLI { CLI(store: dir.file("store")) }

    func expectFailure(_ args: [String], status: Int32 = 1, mentions: [String]) throws {
        let r = try cli.run(["bootimage"] + args, withStore: false)
        #expect(r.status == status, "\(args): exit \(r.status): \(r.output)")
        for word in mentions { #expect(r.stderr.contains(word), "\(args): '\(word)' not in: \(r.stderr)") }
        #expect(r.stderr.split(separator: "\n").count <= 3, "more than a short message: \(r.stderr)")
        #expect(!r.stderr.contains("Fatal error") && !r.stderr.contains("Stack dump"))
        #expect(r.stdout.isEmpty)
    }

    var fake: String { "/bin/true" }

    @Test func misuseExitsTwo() throws {
        try expectFailure(["--rescue-binary", fake], status: 2, mentions: ["--iso", "--pxe"])
        try expectFailure(["--iso", dir.file("o.iso"), "--server", "10.0.0.1:8080", "--rescue-binary", fake], status: 2, mentions: ["http://", "10.0.0.1:8080"])
        try expectFailure(["--iso", dir.file("o.iso"), "--server", "ftp://x", "--rescue-binary", fake], status: 2, mentions: ["--server"])
        try expectFailure(["--iso", dir.file("o.iso"), "--done", "halt", "--rescue-binary", fake], status: 2, mentions: ["--done", "halt"])
        try expectFailure(["--iso", dir.file("o.iso"), "--machine", "two words", "--rescue-binary", fake], status: 2, mentions: ["--machine", "spaces"])
    }

    @Test func missingKernelOrClient() throws {
        try expectFailure(["--iso", dir.file("o.iso"), "--kernel", "/boot/vmlinuz-0.0.0-none", "--rescue-binary", fake], mentions: ["/boot/vmlinuz-0.0.0-none"])
        try expectFailure(["--iso", dir.file("o.iso"), "--rescue-binary", dir.file("nope")], mentions: ["nope", "not an executable"])
        // the default client is looked for next to understudy; the message says how to build it
        // (only when it is not built: with it there, the same command builds a real image)
        let besideCLI = URL(fileURLWithPath: CLI.binary).deletingLastPathComponent().appendingPathComponent("understudy-rescue").path
        if !FileManager.default.isExecutableFile(atPath: besideCLI) {
            let r = try cli.run(["bootimage", "--iso", dir.file("o.iso")], withStore: false)
            #expect(r.status == 1 && r.stderr.contains("swift build --product understudy-rescue"), "\(r.output)")
        }
        #expect(!FileManager.default.fileExists(atPath: dir.file("o.iso")))
    }

    @Test func unwritableOutput() throws {
        try expectFailure(["--iso", "/nonexistent-folder/o.iso", "--rescue-binary", fake], mentions: ["/nonexistent-folder", "does not exist"])
        try expectFailure(["--pxe", "/proc/understudy-pxe", "--rescue-binary", fake], mentions: ["/proc"])
        try expectFailure(["--iso", dir.path, "--rescue-binary", fake], mentions: ["is a folder"])
    }
}
