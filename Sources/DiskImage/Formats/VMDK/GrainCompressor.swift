import Zlib

extension VMDK {
    /// zlib level for streamOptimized grains. 1 is several times faster than zlib's default 6
    /// (qemu's choice) and only a little larger on disk data.
    static let compressionLevel: Int32 = 1

    /// Compresses one grain into a zlib stream (RFC 1950). A grain that looks incompressible
    /// (already compressed or encrypted data) is stored instead: deflate level 0 makes the same
    /// kind of stream without searching for matches, many times faster than level 1, which would
    /// not have shrunk it anyway. Two 2 KiB samples decide, for about 6% of a grain's work.
    /// Not thread-safe: one per worker.
    final class GrainCompressor {
        static let sample = 2048
        private let fast = Deflater(level: VMDK.compressionLevel)
        private let stored = Deflater(level: 0)
        private var scratch: [UInt8]

        init() { scratch = [UInt8](repeating: 0, count: fast.bound(Self.sample)) }

        /// The largest stream a grain can become.
        var bound: Int { max(fast.bound(VMDK.grainBytes), stored.bound(VMDK.grainBytes)) }

        func compress(_ input: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer) throws -> Int {
            try (looksIncompressible(input) ? stored : fast).compress(input, into: output)
        }

        private func looksIncompressible(_ input: UnsafeRawBufferPointer) throws -> Bool {
            guard input.count >= 4 * Self.sample else { return false }
            for start in [0, input.count / 2] {
                let sample = UnsafeRawBufferPointer(rebasing: input[start..<(start + Self.sample)])
                let n = try scratch.withUnsafeMutableBytes { try fast.compress(sample, into: $0) }
                if n * 10 < Self.sample * 9 { return false }  // shrinks by a tenth or more: compress it
            }
            return true
        }
    }
}
