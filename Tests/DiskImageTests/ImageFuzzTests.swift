import BlockStore
@testable import DiskImage
import Foundation
import Testing
import TestSupport
import Core

/// Issue #8 finding 2.4: seeded mutants of every kind of image we write, through the library
/// calls behind `image info`, `image check` and an in-place update. A trap kills the whole test
/// run, loudly; a mutant running past 10 s aborts it naming the mutant (`FuzzRun`). Each CI run
/// takes a few hundred mutants per kind; `Benchmarks/fuzz-images.sh` raises the counts
/// (`UNDERSTUDY_FUZZ_MUTANTS`, `UNDERSTUDY_FUZZ_UPDATES`, `UNDERSTUDY_FUZZ_SEED`) for the long run.
@Suite("Formats: seeded mutants of every kind through info, check and an in-place update")
struct ImageFuzzTests {
    static var mutants: Int { FuzzRun.setting("UNDERSTUDY_FUZZ_MUTANTS", default: 300) }
    static var updates: Int { FuzzRun.setting("UNDERSTUDY_FUZZ_UPDATES", default: 100) }
    static var seed: UInt64 { UInt64(FuzzRun.setting("UNDERSTUDY_FUZZ_SEED", default: 8)) }

    /// The long run takes one kind per process (`UNDERSTUDY_FUZZ_KINDS`, corpus names), so each
    /// kind's peak RSS is its own.
    static func selected(_ c: FormatCase) -> Bool {
        guard let kinds = ProcessInfo.processInfo.environment["UNDERSTUDY_FUZZ_KINDS"] else { return true }
        return kinds.split(separator: ",").contains { $0 == FuzzCorpus.name(c) }
    }

    /// Every `UNDERSTUDY_FUZZ_SAVE_EVERY`th mutant is written to `UNDERSTUDY_FUZZ_SAVE` (a folder),
    /// for the long run to feed the CLI binary as a subprocess.
    static func save(_ bytes: [UInt8], _ c: FormatCase, _ n: Int) throws {
        let env = ProcessInfo.processInfo.environment
        guard let folder = env["UNDERSTUDY_FUZZ_SAVE"], let every = env["UNDERSTUDY_FUZZ_SAVE_EVERY"].flatMap({ Int($0) }),
              every > 0, n % every == 0 else { return }
        try Data(bytes).write(to: URL(fileURLWithPath: folder + "/\(FuzzCorpus.name(c))-\(n).img"))
    }

    /// info and check of every mutant either succeed or throw the store's one error type.
    func readBack(_ file: any ImageFile, as format: any DiskImageFormat.Type) throws -> String {
        var formats = [format]
        if let probed = try FormatRegistry.probe(file), probed.name != format.name { formats.append(probed) }
        var outcome = "read"
        for f in formats {
            do { _ = try f.info(file) } catch is UnderstudyError { outcome = "refused" }
            if try !f.check(file).isEmpty { outcome = "damaged" }
        }
        return outcome
    }

    @Test(arguments: HostileImage.kinds)
    func readersSurviveMutants(_ c: FormatCase) throws {
        guard Self.selected(c) else { return }
        let format = try FormatRegistry.format(named: c.format)
        let mutator = try ImageMutator(seed: try FuzzCorpus.seed(c), kind: c)
        #expect(try readBack(MemoryImageFile(mutator.seed), as: format) == "read", "the seed itself is not sound")
        for (name, bytes) in try FuzzCorpus.regressions(c) {
            _ = try readBack(MemoryImageFile(bytes, path: name), as: format)
        }
        let run = FuzzRun(kind: FuzzCorpus.name(c), phase: "info+check", seed: Self.seed)
        for n in 0..<Self.mutants {
            let bytes = mutator.mutant(n, base: Self.seed)
            try Self.save(bytes, c, n)
            try run.run(n) { try readBack(MemoryImageFile(bytes, path: "\(c) mutant \(n)"), as: format) }
        }
        run.finish()
        #expect(run.slowest.seconds < FuzzRun.hangSeconds)
    }

    /// Each mutant is written over an image built at A, keeping Understudy's record of it valid
    /// (as `touch -r` would), then updated to B. A refusal is right; an update that succeeds must
    /// leave an image that qemu-img reads as B (`FuzzOracle`).
    @Test(arguments: HostileImage.kinds)
    func updatesRefuseOrReadAsThePoint(_ c: FormatCase) throws {
        guard Self.selected(c) else { return }
        let f = try HostileImage.fixture(c, label: "fuzzupd")
        let pristine = try #require(FileManager.default.contents(atPath: f.image))
        let record = try #require(ImageRecord.load(for: f.image))
        let oracle = try FuzzOracle(f, c)
        let mutator = try ImageMutator(seed: Array(pristine), kind: c)
        let run = FuzzRun(kind: FuzzCorpus.name(c), phase: "update", seed: Self.seed)
        var failures: [String] = []
        for n in 0..<Self.updates {
            let bytes = mutator.mutant(n, base: Self.seed ^ 0x5EED)
            try Data(bytes).write(to: URL(fileURLWithPath: f.image))
            var r = record
            r.fingerprint = try ImageRecord.fingerprint(of: f.image)
            try r.save(for: f.image)
            var updated = false
            try run.run(n) {
                do {
                    _ = try ImageUpdater.update(store: f.store, point: f.b, at: f.image, options: c.options())
                    updated = true
                    return "updated"
                } catch is UnderstudyError {
                    return "refused"
                }
            }
            if updated {
                do { run.refine("updated", as: "updated, " + (try oracle.judge(mutant: bytes, n: n))) } catch {
                    failures.append("mutant \(n): \(error)")
                    run.refine("updated", as: "updated WRONG")
                }
            }
            try? FileManager.default.removeItem(atPath: JournaledFile.journalPath(of: f.image))
        }
        run.finish()
        #expect(failures.isEmpty, "\(c): updates that succeeded but do not read as point \(f.b.id!): \(failures.joined(separator: "; "))")
    }
}
