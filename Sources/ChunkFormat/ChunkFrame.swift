import Core
public import Zstd

/// Expanding a chunk's zstd frame and checking it against its name. Every reader — restores,
/// images, verify, gc's compaction, the rescue client — goes through here; nothing else verifies
/// a chunk.
public enum ChunkFrame {
    /// Decompresses `frame` into `output` (the chunk's exact plaintext size) and checks that the
    /// result hashes to `id`: `.corruptChunk` if not.
    public static func expand(_ frame: UnsafeRawBufferPointer, id: ChunkID, into output: UnsafeMutableRawBufferPointer,
                              using decompressor: Decompressor) throws {
        guard matches(frame, id: id, into: output, using: decompressor) else {
            throw UnderstudyError(.corruptChunk, "chunk \(id.hex) is corrupt: its content does not match its SHA-256 name", at: .init(chunk: id.hex))
        }
    }

    public static func expand(_ frame: [UInt8], id: ChunkID, into output: UnsafeMutableRawBufferPointer,
                              using decompressor: Decompressor) throws {
        try frame.withUnsafeBytes { try expand($0, id: id, into: output, using: decompressor) }
    }

    /// Expands a frame of unknown plaintext size (index pages), at most `maxSize` bytes.
    public static func expandUnsized(_ frame: [UInt8], id: ChunkID, using decompressor: Decompressor, maxSize: Int) throws -> [UInt8] {
        let size = frame.withUnsafeBytes { frameContentSize($0) }
        guard let size, size <= maxSize else {
            throw UnderstudyError(.corruptChunk, "chunk \(id.hex) is corrupt: not a zstd frame of at most \(maxSize) bytes", at: .init(chunk: id.hex))
        }
        var out = [UInt8](repeating: 0, count: size)
        try out.withUnsafeMutableBytes { try expand(frame, id: id, into: $0, using: decompressor) }
        return out
    }

    /// Whether `frame` expands into `output` to content named `id` (no error to build: for
    /// callers that retry or count).
    public static func matches(_ frame: UnsafeRawBufferPointer, id: ChunkID, into output: UnsafeMutableRawBufferPointer,
                               using decompressor: Decompressor) -> Bool {
        guard (try? decompressor.decompress(frame, into: output)) != nil else { return false }
        return ChunkID.hash(UnsafeRawBufferPointer(output)) == id
    }
}
