import DiskImage
import Foundation
import Testing
import TestSupport

/// Issue #8: a nightly standby build reads its base image back against the point it holds once a
/// week (between checks it trusts its own file, so the build stays O(changed blocks)); a base
/// image that no longer holds its point is rebuilt, and the build says so.
@Suite("Standby: the base image is checked weekly and rebuilt when damaged", .serialized,
       .enabled(if: Fixtures.available && Libvirtd.available, "needs qemu, the fixture tools and a running libvirtd (scripts/install-deps.sh; the tests start libvirtd)"))
struct StandbyImageCheckTests {
    @Test func aDecayedBaseImageIsRebuiltAtTheWeeklyCheck() throws {
        let h = try StandbyHarness("imgchk", marker: "point-A")
        defer { h.removeDomain() }
        let build = try h.cli.run(["standby", "build", h.machine])
        try #require(build.status == 0, "\(build.output)")
        let image = h.dir.file("store/standby/\(h.machine)/\(h.machine).qcow2")
        try #require(FileManager.default.fileExists(atPath: image))

        // Decay one byte of guest data the next point does not change, keeping the fingerprint.
        let raw = h.dir.file("a.raw")
        try #require(try h.cli.run(["restore", h.machine, raw]).status == 0)
        let disk = try #require(FileManager.default.contents(atPath: raw))
        let bytes = try #require(FileManager.default.contents(atPath: image))
        let probe = try #require(stride(from: 0, to: disk.count - 65536, by: 65536).lazy
            .map { disk[($0 + 30000)..<($0 + 30064)] }.first { window in window.contains { $0 != 0 } && window.contains { $0 != window.first } })
        let at = try #require(bytes.range(of: probe)).lowerBound + 7
        let record = try #require(ImageRecord.load(for: image))
        let handle = try #require(FileHandle(forUpdatingAtPath: image))
        try handle.seek(toOffset: UInt64(at))
        try handle.write(contentsOf: Data([bytes[at] ^ 0x01]))
        try handle.close()
        var kept = record
        kept.fingerprint = try ImageRecord.fingerprint(of: image)
        try kept.save(for: image)

        // Checked this week: the build trusts its file and stays incremental.
        try Fixtures.changeMarker(of: h.disk, to: "point-B")
        _ = try h.cli.capture(h.machine, h.disk)
        let trusted = try h.cli.run(["standby", "build", h.machine, "--json"])
        #expect(trusted.status == 0, "\(trusted.output)")
        #expect(trusted.stdout.contains("\"mode\" : \"update\""), "\(trusted.stdout)")

        // A week later the check runs, finds the decayed block and rebuilds the image.
        var old = try #require(ImageRecord.load(for: image))
        old.verified = Date(timeIntervalSinceNow: -8 * 86_400)
        try old.save(for: image)
        try Fixtures.changeMarker(of: h.disk, to: "point-C")
        let point = try h.cli.capture(h.machine, h.disk)
        let checked = try h.cli.run(["standby", "build", h.machine, "--json"])
        #expect(checked.status == 0, "\(checked.output)")
        #expect(checked.stderr.contains("does not hold what point") && checked.stderr.contains("rebuilding it"), "\(checked.stderr)")
        #expect(checked.stdout.contains("rebuilt: the previous image was damaged"), "\(checked.stdout)")
        let now = h.dir.file("c.raw")
        try #require(try h.cli.run(["restore", h.machine, now, "--point", String(point)]).status == 0)
        let same = QemuImg.same(image, format: "qcow2", as: now)
        #expect(same.0, "\(same.1)")
        #expect(ImageRecord.load(for: image)?.verifiedWithin(days: 1) == true)
    }
}
