import Core
import Foundation

/// The disk a rescue restore writes: a block device (opened exclusively, so never while mounted)
/// or a regular file (created if missing, sparse).
public final class TargetDisk: @unchecked Sendable {
    public let path: String
    public let isBlockDevice: Bool
    private let file: FileDescriptor

    public init(path: String, createIfMissing: Bool) throws {
        self.path = path
        var info = stat()
        let exists = stat(path, &info) == 0
        if exists && (info.st_mode & S_IFMT) == S_IFDIR {
            throw RescueError("target \(path) is a directory; give a disk (/dev/sdX) or an image file")
        }
        isBlockDevice = exists && (info.st_mode & S_IFMT) == S_IFBLK
        if exists && !isBlockDevice && (info.st_mode & S_IFMT) != S_IFREG {
            throw RescueError("target \(path) is neither a block device nor a regular file")
        }
        if !exists && !createIfMissing { throw RescueError("target \(path) does not exist") }
        // O_EXCL on a block device fails with EBUSY while it is mounted or claimed.
        do {
            file = try FileDescriptor(path: path, flags: isBlockDevice ? O_RDWR | O_EXCL : O_RDWR | O_CREAT, mode: 0o600)
        } catch let error as UnderstudyError {
            if error.code == .targetInUse { throw RescueError("target \(path) is in use (mounted, or part of a RAID/LVM volume); unmount it first") }
            throw RescueError("cannot open target \(path): \(Self.reason(error))")
        }
    }

    /// Bytes the target holds.
    public func size() throws -> Int64 {
        do { return try file.size() } catch let error as UnderstudyError {
            throw RescueError("cannot read the size of \(path): \(Self.reason(error))")
        }
    }

    /// A file target is set to exactly `size` bytes, all holes (zero) when `fresh`.
    public func prepareFile(size: Int64, fresh: Bool) throws {
        guard !isBlockDevice else { return }
        do {
            if fresh { try file.truncate(to: 0) }
            try file.truncate(to: size)
        } catch let error as UnderstudyError {
            throw RescueError("cannot size \(path) to \(size) bytes: \(Self.reason(error))")
        }
    }

    /// What the start of the target holds, if it looks used: a GPT, an MBR (or boot sector), or
    /// an ext2/3/4 file system written straight on the disk.
    public func existingContent() throws -> String? {
        var head = [UInt8](repeating: 0, count: 2048)
        guard try read(into: &head, at: 0) == head.count else { return nil }
        if Array(head[512..<520]) == Array("EFI PART".utf8) { return "a GPT partition table" }
        if head[510] == 0x55 && head[511] == 0xAA { return "an MBR partition table or boot sector" }
        if head[1080] == 0x53 && head[1081] == 0xEF { return "an ext2/3/4 file system" }
        return nil
    }

    public func write(_ bytes: UnsafeRawBufferPointer, at offset: Int64) throws {
        do { try file.write(bytes, at: offset) } catch let error as UnderstudyError {
            if error.code == .noSpace { throw RescueError("target \(path) is full at offset \(offset)") }
            // A disk that went away or failed may come back (cable, controller reset): resumable.
            throw RescueError("writing \(path) at offset \(offset) failed: \(Self.reason(error))",
                              resumable: error.errnoCode.map { [EIO, ENODEV, ENXIO].contains($0) } ?? false)
        }
    }

    public func read(into buffer: inout [UInt8], at offset: Int64) throws -> Int {
        do {
            return try buffer.withUnsafeMutableBytes { try file.read(into: $0.baseAddress!, count: $0.count, at: offset) }
        } catch let error as UnderstudyError {
            throw RescueError("reading \(path) at offset \(offset) failed: \(Self.reason(error))")
        }
    }

    /// Makes `length` bytes at `offset` read as zeros: BLKZEROOUT on a device (the disk or the
    /// hypervisor may do it without writing), explicit zeros if that is refused.
    public func zero(offset: Int64, length: Int64) throws {
        do { try file.zeroRange(offset: offset, length: length) } catch let error as UnderstudyError {
            throw RescueError("zeroing \(path) at offset \(offset) failed: \(Self.reason(error))")
        }
    }

    public func sync() throws {
        do { try file.sync() } catch let error as UnderstudyError {
            throw RescueError("flushing \(path) failed: \(Self.reason(error))")
        }
    }

    /// The system's words for a failed call (`strerror`), else the error's message.
    private static func reason(_ error: UnderstudyError) -> String {
        error.errnoCode.map { String(cString: strerror($0)) } ?? error.message
    }
}
