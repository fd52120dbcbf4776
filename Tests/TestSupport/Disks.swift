import Foundation

/// A seeded random generator (SplitMix64), so a failing test can be replayed.
public struct SeededRandom: RandomNumberGenerator, Sendable {
    private var state: UInt64
    public init(seed: UInt64) { state = seed }
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Synthetic disks for tests: sparse, with random, compressible and repeated regions.
public enum Disks {
    /// Writes a sparse disk of `size` bytes: `regions` random extents of random, text-like or
    /// repeated content at random offsets; the rest are holes.
    public static func make(_ path: String, size: Int, seed: UInt64, regions: Int = 24) throws {
        _ = FileManager.default.createFile(atPath: path, contents: nil)
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        defer { try? handle.close() }
        try handle.truncate(atOffset: UInt64(size))
        var rng = SeededRandom(seed: seed)
        var repeated: [UInt8]? = nil
        for _ in 0..<regions {
            let length = Int.random(in: 1...min(size, 300_000), using: &rng)
            let offset = Int.random(in: 0...(size - length), using: &rng)
            let kind = Int.random(in: 0..<3, using: &rng)
            var data: [UInt8]
            switch kind {
            case 0: data = randomBytes(length, using: &rng)
            case 1: data = text(length, using: &rng)
            default:
                if repeated == nil { repeated = randomBytes(65536, using: &rng) }
                data = Array((0..<(length / 65536 + 1)).flatMap { _ in repeated! }.prefix(length))
            }
            try handle.seek(toOffset: UInt64(offset))
            handle.write(Data(data))
        }
    }

    /// Random small writes (4 KiB, some unaligned), some zeroed ranges; returns what changed.
    @discardableResult
    public static func mutate(_ path: String, seed: UInt64, writes: Int) throws -> Int {
        let handle = try FileHandle(forUpdating: URL(fileURLWithPath: path))
        defer { try? handle.close() }
        let size = Int(try handle.seekToEnd())
        var rng = SeededRandom(seed: seed)
        var changed = 0
        for _ in 0..<writes {
            let length = min(size, Bool.random(using: &rng) ? 4096 : Int.random(in: 1...100_000, using: &rng))
            let offset = Int.random(in: 0...(size - length), using: &rng)
            let zero = Int.random(in: 0..<5, using: &rng) == 0
            try handle.seek(toOffset: UInt64(offset))
            handle.write(Data(zero ? [UInt8](repeating: 0, count: length) : randomBytes(length, using: &rng)))
            changed += length
        }
        return changed
    }

    public static func randomBytes(_ count: Int, using rng: inout SeededRandom) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: count)
        out.withUnsafeMutableBytes { raw in
            var i = 0
            while i + 8 <= count { raw.storeBytes(of: rng.next(), toByteOffset: i, as: UInt64.self); i += 8 }
            while i < count { raw[i] = UInt8(truncatingIfNeeded: rng.next()); i += 1 }
        }
        return out
    }

    static func text(_ count: Int, using rng: inout SeededRandom) -> [UInt8] {
        let words = ["disk", "block", "restore", "server", "standby", "the", "a", "of", "backup", "point", "\n"]
        var out: [UInt8] = []
        out.reserveCapacity(count + 16)
        while out.count < count { out += Array(words[Int(rng.next() % UInt64(words.count))].utf8); out.append(32) }
        return Array(out.prefix(count))
    }

    /// True if both files have the same size and bytes.
    public static func equal(_ a: String, _ b: String) -> Bool {
        guard let x = FileManager.default.contents(atPath: a), let y = FileManager.default.contents(atPath: b) else { return false }
        return x == y
    }

    public static func copy(_ from: String, _ to: String) throws {
        try? FileManager.default.removeItem(atPath: to)
        try FileManager.default.copyItem(atPath: from, toPath: to)
    }
}
