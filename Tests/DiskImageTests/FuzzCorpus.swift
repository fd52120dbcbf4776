import DiskImage
import Foundation
import TestSupport

/// The committed fuzz corpus (`Tests/DiskImageTests/FuzzCorpus/`): one seed image per kind,
/// gzipped (`KIND.img.gz`), and `regressions/KIND-*.img.gz`, mutants that once broke a reader,
/// replayed on every run. Seeds are regenerated only on demand (`UNDERSTUDY_UPDATE_GOLDEN=1`),
/// from the same small disk the update fuzzing uses (`HostileImage.fixture`).
enum FuzzCorpus {
    static let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("FuzzCorpus").path

    static func name(_ c: FormatCase) -> String {
        "\(c.format)-\(c.variant)\(c.compress ? "-compressed" : "")"
    }

    /// The seed image of a kind, written first if asked to regenerate.
    static func seed(_ c: FormatCase) throws -> [UInt8] {
        let path = folder + "/\(name(c)).img.gz"
        if ProcessInfo.processInfo.environment["UNDERSTUDY_UPDATE_GOLDEN"] == "1" {
            let f = try HostileImage.fixture(c, label: "corpus")
            let r = shell("gzip -9nc '\(f.image)' > '\(path)'")
            guard r.status == 0 else { throw CLIError(message: "gzip: \(r.output)") }
        }
        return try gunzip(path)
    }

    /// The regression mutants of a kind, by file name.
    static func regressions(_ c: FormatCase) throws -> [(String, [UInt8])] {
        let dir = folder + "/regressions"
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? [])
            .filter { $0.hasPrefix(name(c) + "-") && $0.hasSuffix(".img.gz") }.sorted()
        return try names.map { ($0, try gunzip(dir + "/" + $0)) }
    }

    static func gunzip(_ path: String) throws -> [UInt8] {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/gzip")
        process.arguments = ["-dc", path]
        let out = Pipe()
        process.standardOutput = out
        try process.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw CLIError(message: "cannot read the corpus file \(path)") }
        return Array(data)
    }
}
