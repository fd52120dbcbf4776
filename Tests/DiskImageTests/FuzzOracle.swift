import BlockStore
import DiskImage
import Foundation
import TestSupport

/// Judges an in-place update that succeeded on a mutant, with qemu-img as the reader. Right:
/// the image reads exactly as point B. Anything else is wrong, and the error says which way:
/// the update carried guest data the mutant had damaged in a block B did not change (what
/// `HeldPointCheck` now refuses), or it wrote through damaged metadata.
struct FuzzOracle {
    let image: String
    let format: String
    let dir: String
    let a: [UInt8]
    let b: [UInt8]
    let bPath: String
    let blockSize: Int

    init(_ f: HostileImage.Fixture, _ c: FormatCase) throws {
        image = f.image
        format = c.format
        dir = f.dir.path
        var raw = ImageBuilder.Options()
        raw.force = true
        let aPath = f.dir.file("a.raw")
        bPath = f.dir.file("b.raw")
        _ = try ImageBuilder.build(store: f.store, point: f.a, to: aPath, options: raw)
        _ = try ImageBuilder.build(store: f.store, point: f.b, to: bPath, options: raw)
        a = Array(try Data(contentsOf: URL(fileURLWithPath: aPath)))
        b = Array(try Data(contentsOf: URL(fileURLWithPath: bPath)))
        blockSize = f.b.blockSize
    }

    /// The guest's bytes as qemu-img reads them (`--salvage`: a cluster it cannot read, such as
    /// a damaged compressed one, reads as zeros), or nil if it cannot open the image at all.
    func guest(_ path: String) -> [UInt8]? {
        let out = path + ".guest"
        defer { try? FileManager.default.removeItem(atPath: out) }
        guard shell("qemu-img convert --salvage -f \(QemuImg.driver(format)) -O raw '\(path)' '\(out)' 2>&1").status == 0 else { return nil }
        return FileManager.default.contents(atPath: out).map(Array.init)
    }

    /// "exact", or throws describing how the image differs from B; a wrong mutant is kept in
    /// `UNDERSTUDY_FUZZ_SAVE` (when set) as `WRONG-N.img`, to be replayed.
    func judge(mutant: [UInt8], n: Int) throws -> String {
        do { return try judge(mutant: mutant) } catch {
            if let folder = ProcessInfo.processInfo.environment["UNDERSTUDY_FUZZ_SAVE"] {
                try? Data(mutant).write(to: URL(fileURLWithPath: folder + "/WRONG-\(n).img"))
            }
            throw error
        }
    }

    private func judge(mutant: [UInt8]) throws -> String {
        if QemuImg.same(image, format: format, as: bPath).0 { return "exact" }
        guard let post = guest(image) else { throw CLIError(message: "qemu-img cannot read the updated image") }
        guard post.count == b.count else { throw CLIError(message: "the updated image's virtual size is \(post.count), the point's \(b.count)") }
        let prePath = dir + "/pre.img"
        try Data(mutant).write(to: URL(fileURLWithPath: prePath))
        let pre = guest(prePath)
        for start in stride(from: 0, to: b.count, by: blockSize) {
            let r = start..<min(b.count, start + blockSize)
            if Self.same(post, b, r) { continue }
            if Self.same(a, b, r), let pre, pre.count == a.count, Self.same(pre, post, r), !Self.same(pre, a, r) {
                throw CLIError(message: "guest bytes \(r) carry damage the mutant held in a block point B did not change")
            }
            throw CLIError(message: "guest bytes \(r) differ from the point's and are not damage the mutant already held")
        }
        throw CLIError(message: "qemu-img compare says the image differs from the point, yet every block reads the same")
    }

    /// `x[r] == y[r]` by memcmp: slice equality compares byte by byte through generic witnesses
    /// in a debug build, which was 80 % of a long fuzz run's time. Both arrays hold `r`.
    static func same(_ x: [UInt8], _ y: [UInt8], _ r: Range<Int>) -> Bool {
        x.withUnsafeBytes { xs in
            y.withUnsafeBytes { ys in memcmp(xs.baseAddress! + r.lowerBound, ys.baseAddress! + r.lowerBound, r.count) == 0 }
        }
    }
}
