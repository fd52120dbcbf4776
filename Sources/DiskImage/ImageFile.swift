import BlockStore
import Foundation
public import Core

/// The file a format writes: a fresh temp file for a full build, or a `JournaledFile` for an
/// in-place update. Formats never touch file descriptors themselves.
public protocol ImageFile: AnyObject {
    var path: String { get }
    /// The file's current size (including writes not yet flushed).
    var size: Int64 { get }
    /// Reads up to `count` bytes at `offset`; returns how many (fewer only at the end).
    func read(into buffer: UnsafeMutableRawPointer, count: Int, at offset: Int64) throws -> Int
    func write(_ bytes: UnsafeRawBufferPointer, at offset: Int64) throws
    func truncate(to size: Int64) throws
}

extension ImageFile {
    public func write(_ bytes: [UInt8], at offset: Int64) throws {
        try bytes.withUnsafeBytes { try write($0, at: offset) }
    }

    /// Reads exactly `count` bytes or fails naming the file as truncated. The range is checked
    /// against the file's size *before* anything is allocated: offsets and lengths often come
    /// from the file itself, and a damaged one must cost an error, not gigabytes of memory.
    public func read(_ count: Int, at offset: Int64) throws -> [UInt8] {
        try checkRange(Int64(count), at: offset)
        var out = [UInt8](repeating: 0, count: count)
        guard count > 0 else { return out }
        let n = try out.withUnsafeMutableBytes { try read(into: $0.baseAddress!, count: count, at: offset) }
        guard n == count else {
            throw UnderstudyError(.unsupported, "\(path) is truncated: wanted \(count) bytes at offset \(offset), the file ends at \(size)",
                             at: .init(offset: offset, path: path))
        }
        return out
    }

    /// Throws unless `[offset, offset + count)` lies inside the file.
    func checkRange(_ count: Int64, at offset: Int64) throws {
        guard Binary.end(offset, count, within: size) != nil else {
            throw UnderstudyError(.unsupported, "\(path) is truncated or damaged: wanted \(count) bytes at offset \(offset), the file ends at \(size)",
                             at: .init(offset: max(0, offset), path: path))
        }
    }
}

/// An image file written directly (full builds, reading).
public final class PlainImageFile: ImageFile {
    public let file: FileDescriptor
    public var path: String { file.path }
    public private(set) var size: Int64

    public init(_ file: FileDescriptor) throws {
        self.file = file
        size = try file.size()
    }

    public convenience init(readingFrom path: String) throws {
        try self.init(FileDescriptor(path: path, flags: O_RDONLY))
    }

    public func read(into buffer: UnsafeMutableRawPointer, count: Int, at offset: Int64) throws -> Int {
        try file.read(into: buffer, count: count, at: offset)
    }

    public func write(_ bytes: UnsafeRawBufferPointer, at offset: Int64) throws {
        try file.write(bytes, at: offset)
        size = max(size, offset + Int64(bytes.count))
        unsynced += bytes.count
        if unsynced >= Self.writebackBytes {
            file.startWriteback()
            unsynced = 0
        }
    }

    /// Writeback starts every this many bytes: the fsync at the end then finds little to do.
    static let writebackBytes = 32 << 20
    private var unsynced = 0

    public func truncate(to size: Int64) throws {
        try file.truncate(to: size)
        self.size = size
    }
}
