import BlockStore
import Foundation
import Core
import ChunkFormat

/// An image updated in place with an undo journal, so a crash at any moment can be rolled back
/// to the exact previous image.
///
/// Writes are held in memory (up to `flushBytes`); at each flush the old content of every range
/// they overwrite is appended to `IMAGE.understudy-journal` and fsynced *before* the writes reach
/// the image. Rolling back applies the journal's records newest first and truncates the image to
/// its old size. The journal costs O(changed bytes), like the update itself.
///
/// Journal: magic `UJRN`, version u32, old size u64, target point i64, then records of
/// offset u64 + length u32 + old bytes (little-endian). A record cut short by a crash was never
/// followed by its image writes and is ignored.
public final class JournaledFile: ImageFile {
    static let magic: [UInt8] = Array("UJRN".utf8)
    public let path: String
    let file: FileDescriptor
    let journal: FileDescriptor
    let originalSize: Int64
    public private(set) var size: Int64
    /// Bytes written to the image (the update's cost, for tests and reports).
    public private(set) var bytesWritten: Int64 = 0
    private var pending: [(offset: Int64, bytes: [UInt8])] = []
    private var pendingBytes = 0
    private var undo: [UInt8] = []
    private let flushBytes: Int

    public static func journalPath(of image: String) -> String { image + ".understudy-journal" }

    /// Opens `path` for an update towards `targetPoint`; refuses if a journal is already there.
    public init(path: String, targetPoint: Int64, flushBytes: Int = 16 << 20) throws {
        self.path = path
        self.flushBytes = flushBytes
        file = try FileDescriptor(path: path, flags: O_RDWR)
        originalSize = try file.size()
        size = originalSize
        let journalPath = Self.journalPath(of: path)
        guard !FileSystem.exists(journalPath) else {
            throw UnderstudyError(.locked, "\(path) has an unfinished update journal; recover it first", at: .init(path: path))
        }
        // The header is made durable under a temporary name and then renamed, so a journal either
        // does not exist or names its update in full: a kill in between leaves only the temp file.
        let tempPath = journalPath + ".tmp"
        unlink(tempPath)
        let journal = try FileDescriptor(path: tempPath, flags: O_WRONLY | O_CREAT | O_EXCL)
        self.journal = journal
        var header = Self.magic
        Self.append(UInt32(1), to: &header)
        Self.append(UInt64(originalSize), to: &header)
        Self.append(UInt64(bitPattern: targetPoint), to: &header)
        try header.withUnsafeBytes { try journal.write($0, at: 0) }
        try journal.sync()
        guard rename(tempPath, journalPath) == 0 else {
            throw UnderstudyError(.io, "cannot create the update journal \(journalPath): \(String(cString: strerror(errno)))", at: .init(path: journalPath))
        }
        try FileSystem.syncDirectory(of: journalPath)
        journalEnd = Int64(header.count)
    }

    private var journalEnd: Int64 = 0

    public func read(into buffer: UnsafeMutableRawPointer, count: Int, at offset: Int64) throws -> Int {
        var n = try file.read(into: buffer, count: count, at: offset)
        // Pending writes are newer than the file: lay them over what was read.
        for write in pending {
            let start = max(offset, write.offset), end = min(offset + Int64(count), write.offset + Int64(write.bytes.count))
            guard start < end else { continue }
            write.bytes.withUnsafeBytes { src in
                (buffer + Int(start - offset)).copyMemory(from: src.baseAddress! + Int(start - write.offset), byteCount: Int(end - start))
            }
            n = max(n, Int(end - offset))
        }
        return min(n, Int(max(0, size - offset)))
    }

    public func write(_ bytes: UnsafeRawBufferPointer, at offset: Int64) throws {
        guard bytes.count > 0 else { return }
        try remember(offset, count: bytes.count)
        pending.append((offset, Array(bytes)))
        pendingBytes += bytes.count
        size = max(size, offset + Int64(bytes.count))
        if pendingBytes >= flushBytes { try flush() }
    }

    public func truncate(to newSize: Int64) throws {
        try flush()
        if newSize < size { try remember(newSize, count: Int(size - newSize)) }
        try flush()
        try file.truncate(to: newSize)
        size = newSize
    }

    /// Records the old content of `[offset, offset+count)` that lies within the original file.
    private func remember(_ offset: Int64, count: Int) throws {
        let end = min(offset + Int64(count), originalSize)
        guard offset < end else { return }
        let length = Int(end - offset)
        var old = [UInt8](repeating: 0, count: length)
        let n = try old.withUnsafeMutableBytes { try file.read(into: $0.baseAddress!, count: length, at: offset) }
        Self.append(UInt64(offset), to: &undo)
        Self.append(UInt32(n), to: &undo)
        undo += old[0..<n]
    }

    /// Journal first (durably), then the image.
    public func flush() throws {
        if !undo.isEmpty {
            try undo.withUnsafeBytes { try journal.write($0, at: journalEnd) }
            journalEnd += Int64(undo.count)
            undo.removeAll(keepingCapacity: true)
            try journal.sync()
        }
        for write in pending {
            try write.bytes.withUnsafeBytes { try file.write($0, at: write.offset) }
            bytesWritten += Int64(write.bytes.count)
        }
        pending.removeAll(keepingCapacity: true)
        pendingBytes = 0
    }

    /// Makes the updated image durable; the caller then records the new point and calls `finishCommit`.
    public func syncImage() throws {
        try flush()
        try file.sync()
    }

    /// The update is recorded: the journal goes.
    public func finishCommit() throws {
        try Self.removeJournal(of: path)
    }

    public static func removeJournal(of image: String) throws {
        let journalPath = journalPath(of: image)
        unlink(journalPath)
        try FileSystem.syncDirectory(of: journalPath)
    }

    /// Target point named by a journal, or nil if there is none.
    public static func pendingTarget(of image: String) -> Int64? {
        guard let bytes = try? FileSystem.readFile(journalPath(of: image)), bytes.count >= 24,
              Array(bytes[0..<4]) == magic else { return nil }
        return Int64(bitPattern: load(UInt64.self, bytes, 16))
    }

    /// Rolls the image back to its content before the journaled update, then removes the journal.
    public static func rollBack(_ image: String) throws {
        let journalPath = journalPath(of: image)
        unlink(journalPath + ".tmp")  // a header that never became the journal: nothing was written
        let bytes = try FileSystem.readFile(journalPath)
        guard bytes.count >= 24, Array(bytes[0..<4]) == magic else {
            throw UnderstudyError(.corruptChunk, "\(journalPath) is not an Understudy journal", at: .init(path: journalPath))
        }
        let originalSize = Int64(load(UInt64.self, bytes, 8))
        var records: [(Int64, Range<Int>)] = []
        var at = 24
        while at + 12 <= bytes.count {
            let offset = Int64(load(UInt64.self, bytes, at)), length = Int(load(UInt32.self, bytes, at + 8))
            guard at + 12 + length <= bytes.count else { break }  // cut by the crash: never applied
            records.append((offset, (at + 12)..<(at + 12 + length)))
            at += 12 + length
        }
        let file = try FileDescriptor(path: image, flags: O_RDWR)
        for (offset, range) in records.reversed() {
            try bytes[range].withUnsafeBytes { try file.write($0, at: offset) }
        }
        try file.truncate(to: originalSize)
        try file.sync()
        unlink(journalPath)
        try FileSystem.syncDirectory(of: journalPath)
    }

    static func append<T: FixedWidthInteger>(_ value: T, to out: inout [UInt8]) {
        withUnsafeBytes(of: value.littleEndian) { out += $0 }
    }

    static func load<T: FixedWidthInteger>(_: T.Type, _ bytes: [UInt8], _ at: Int) -> T {
        bytes.withUnsafeBytes { T(littleEndian: $0.loadUnaligned(fromByteOffset: at, as: T.self)) }
    }
}
