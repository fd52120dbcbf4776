import Foundation
import Testing
import TestSupport

/// Issue #8, finding 2.1: a store that lost its catalog or its `store.json` is never treated as
/// empty, and nothing (gc, capture, init) destroys or reuses its packs.
@Suite("CLI: a store missing its catalog or store.json")
struct PartialStoreTests {
    let dir = TempDir("partial")
    var cli: CLI { CLI(store: dir.file("store")) }
    var store: String { dir.file("store") }

    /// Two points of `m`; returns their ids and copies of the disk at each.
    func twoPoints() throws -> [(Int64, String)] {
        let disk = dir.file("disk.img")
        try Disks.make(disk, size: 6 << 20, seed: 201, regions: 60)
        let first = try cli.capture("m", disk)
        try Disks.copy(disk, dir.file("p1.img"))
        try Disks.mutate(disk, seed: 202, writes: 30)
        let second = try cli.capture("m", disk)
        return [(first, dir.file("p1.img")), (second, disk)]
    }

    /// Pack file names and their SHA-256, to prove nothing touched them.
    func packDigests() -> String {
        shell("cd \(store)/packs && sha256sum * 2>/dev/null").output
    }

    func moveCatalog(to folder: String) {
        try? FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        for suffix in ["", "-wal", "-shm"] { rename(store + "/catalog.sqlite" + suffix, folder + "/catalog.sqlite" + suffix) }
    }

    func putBackCatalog(from folder: String) {
        for suffix in ["", "-wal", "-shm"] { rename(folder + "/catalog.sqlite" + suffix, store + "/catalog.sqlite" + suffix) }
    }

    @Test func missingCatalogIsRefusedByEveryCommandAndNoPackIsTouched() throws {
        let points = try twoPoints()
        let before = packDigests()
        #expect(!before.isEmpty)
        moveCatalog(to: dir.file("saved"))
        let disk = dir.file("other.img")
        try Disks.make(disk, size: 1 << 20, seed: 203)
        for args in [["machines"], ["points", "m"], ["verify", "--chunks"], ["gc"], ["gc", "--dry-run"], ["forget", "m", "1"],
                     ["capture", "m", disk], ["capture", "new", disk], ["init"], ["restore", "m", dir.file("out.img")]] {
            let r = try cli.run(args)
            #expect(r.status == 1, "\(args) exits \(r.status): \(r.output)")
            #expect(r.stderr.contains("has no catalog"), "\(args): \(r.stderr)")
            #expect(r.stderr.contains("catalog.sqlite is missing") || r.stderr.contains("catalog.sqlite"), "\(args): \(r.stderr)")
            #expect(r.stderr.contains("pack files") && r.stderr.contains("issue #15"), "\(args) does not say how to recover: \(r.stderr)")
            #expect(!r.stderr.contains("Fatal error"))
        }
        #expect(!FileManager.default.fileExists(atPath: store + "/catalog.sqlite"), "a command recreated the catalog")
        #expect(packDigests() == before, "a command changed the packs of a store without a catalog")

        putBackCatalog(from: dir.file("saved"))
        #expect(try cli.run(["verify", "--chunks"]).status == 0)
        for (id, original) in points {
            let out = dir.file("r\(id).img")
            #expect(try cli.run(["restore", "m", out, "--point", String(id)]).status == 0)
            #expect(Disks.equal(out, original))
        }
    }

    @Test func missingStoreJSONIsRefusedAndNotRecreated() throws {
        _ = try twoPoints()
        let before = packDigests()
        let marker = store + "/store.json"
        let saved = try Data(contentsOf: URL(fileURLWithPath: marker))
        unlink(marker)
        let disk = dir.file("other.img")
        try Disks.make(disk, size: 1 << 20, seed: 204)
        for args in [["machines"], ["capture", "m", disk], ["init"], ["gc"]] {
            let r = try cli.run(args)
            #expect(r.status == 1, "\(args) exits \(r.status): \(r.output)")
            #expect(r.stderr.contains("no store.json") && r.stderr.contains("pack files") && r.stderr.contains("a catalog"), "\(args): \(r.stderr)")
            #expect(r.stderr.contains("echo '{\"format\": 1}'"), "\(args) does not say how to recover: \(r.stderr)")
        }
        #expect(!FileManager.default.fileExists(atPath: marker), "a command recreated store.json")
        #expect(packDigests() == before)
        try saved.write(to: URL(fileURLWithPath: marker))
        #expect(try cli.run(["machines"]).status == 0)
    }

    @Test func aCatalogOlderThanThePacksNeverReusesAPackNumber() throws {
        let disk = dir.file("disk.img")
        try Disks.make(disk, size: 4 << 20, seed: 205, regions: 40)
        let a = try cli.capture("m", disk)
        try Disks.copy(disk, dir.file("a.img"))
        // A backup of the catalog taken now (no process has it open: no -wal).
        #expect(!FileManager.default.fileExists(atPath: store + "/catalog.sqlite-wal"))
        try Disks.copy(store + "/catalog.sqlite", dir.file("backup.sqlite"))
        var rng = SeededRandom(seed: 206)
        _ = FileManager.default.createFile(atPath: dir.file("b.img"), contents: Data(Disks.randomBytes(3 << 20, using: &rng)))
        _ = try cli.capture("b", dir.file("b.img"))
        let newer = packDigests()
        #expect(newer.contains(" 2.pack"), "\(newer)")

        // The catalog is put back from the backup: it knows pack 1 only.
        moveCatalog(to: dir.file("lost"))
        try Disks.copy(dir.file("backup.sqlite"), store + "/catalog.sqlite")
        try Disks.mutate(disk, seed: 207, writes: 20)
        let c = try cli.capture("m", disk)
        let after = packDigests()
        let line2 = newer.split(separator: "\n").first { $0.hasSuffix(" 2.pack") }
        #expect(after.contains(String(line2 ?? "?")), "pack 2 was written over by a catalog that did not know it")
        let gc = try cli.run(["gc"])
        #expect(gc.status == 0, "\(gc.output)")
        #expect(gc.stderr.contains("kept 1 pack files this catalog has no record of") && gc.stderr.contains("2.pack"), "\(gc.stderr)")
        #expect(packDigests().contains(String(line2 ?? "?")), "gc removed a pack the catalog does not know")
        #expect(try cli.run(["verify", "--chunks"]).status == 0)
        for (id, original) in [(a, dir.file("a.img")), (c, disk)] {
            let out = dir.file("r\(id).img")
            #expect(try cli.run(["restore", "m", out, "--point", String(id)]).status == 0)
            #expect(Disks.equal(out, original))
        }
    }
}
