import Core
import Zstd

/// Frames chunks: compresses a chunk's plaintext and puts the record header in front, in a buffer
/// reused from chunk to chunk. The one place a record is made — capture today, and every later
/// writer (an upload endpoint, replication, another backend) — so no writer frames chunks itself.
/// One per thread: it holds a zstd context.
public final class PackRecordBuilder: @unchecked Sendable {
    private let compressor: Compressor
    private let buffer: AlignedBuffer
    public let maxPlainLength: Int

    public init(level: Int32, maxPlainLength: Int) {
        compressor = Compressor(level: level)
        buffer = AlignedBuffer(count: PackRecord.headerSize + compressBound(maxPlainLength))
        self.maxPlainLength = maxPlainLength
    }

    /// The record of chunk `id` (the SHA-256 of `plaintext`, which the caller has computed): header,
    /// then frame. Valid until the next call.
    public func record(_ id: ChunkID, plaintext: UnsafeRawBufferPointer) throws -> UnsafeRawBufferPointer {
        guard plaintext.count <= maxPlainLength else {
            throw UnderstudyError(.invalidArgument, "chunk \(id.hex) of \(plaintext.count) bytes is larger than this builder's \(maxPlainLength)")
        }
        let frameLength: Int
        do {
            frameLength = try compressor.compress(plaintext, into: buffer.slice(PackRecord.headerSize, buffer.count - PackRecord.headerSize))
        } catch {
            throw UnderstudyError(.io, "compressing chunk \(id.hex): \(error)", at: .init(chunk: id.hex))
        }
        PackRecord.writeHeader(to: buffer.pointer, id: id, frameLength: frameLength, plainLength: plaintext.count)
        return UnsafeRawBufferPointer(buffer.slice(0, PackRecord.headerSize + frameLength))
    }
}
