import CLinux
import Foundation

/// The disk a rescue restore writes: a block device (opened exclusively, so never while mounted)
/// or a regular file (created if missing, sparse).
public final class TargetDisk: @unchecked Sendable {
    public let path: String
    public let isBlockDevice: Bool
    let fd: Int32

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
        let flags = isBlockDevice ? O_RDWR | O_EXCL | O_CLOEXEC : O_RDWR | O_CREAT | O_CLOEXEC
        let fd = open(path, flags, 0o600)
        guard fd >= 0 else {
            let code = errno
            if code == EBUSY { throw RescueError("target \(path) is in use (mounted, or part of a RAID/LVM volume); unmount it first") }
            throw RescueError("cannot open target \(path): \(String(cString: strerror(code)))")
        }
        self.fd = fd
    }

    deinit { close(fd) }

    /// Bytes the target holds.
    public func size() throws -> Int64 {
        if isBlockDevice {
            var bytes: UInt64 = 0
            guard clinux_blkgetsize64(fd, &bytes) == 0 else { throw RescueError("cannot read the size of \(path): \(errnoText())") }
            return Int64(bytes)
        }
        var info = stat()
        guard fstat(fd, &info) == 0 else { throw RescueError("cannot stat \(path): \(errnoText())") }
        return Int64(info.st_size)
    }

    /// A file target is set to exactly `size` bytes, all holes (zero) when `fresh`.
    public func prepareFile(size: Int64, fresh: Bool) throws {
        guard !isBlockDevice else { return }
        if fresh { guard ftruncate(fd, 0) == 0 else { throw RescueError("cannot truncate \(path): \(errnoText())") } }
        guard ftruncate(fd, off_t(size)) == 0 else { throw RescueError("cannot size \(path) to \(size) bytes: \(errnoText())") }
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
        var done = 0
        while done < bytes.count {
            let n = pwrite(fd, bytes.baseAddress! + done, bytes.count - done, off_t(offset) + off_t(done))
            if n < 0 {
                if errno == EINTR { continue }
                let code = errno
                if code == ENOSPC || code == EDQUOT { throw RescueError("target \(path) is full at offset \(offset + Int64(done))") }
                // A disk that went away or failed may come back (cable, controller reset): resumable.
                throw RescueError("writing \(path) at offset \(offset + Int64(done)) failed: \(String(cString: strerror(code)))",
                                  resumable: [EIO, ENODEV, ENXIO].contains(code))
            }
            done += n
        }
    }

    public func read(into buffer: inout [UInt8], at offset: Int64) throws -> Int {
        var done = 0
        while done < buffer.count {
            let n = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress! + done, $0.count - done, off_t(offset) + off_t(done)) }
            if n < 0 { if errno == EINTR { continue }; throw RescueError("reading \(path) at offset \(offset) failed: \(errnoText())") }
            if n == 0 { break }
            done += n
        }
        return done
    }

    /// Makes `length` bytes at `offset` read as zeros: BLKZEROOUT on a device (the disk or the
    /// hypervisor may do it without writing), explicit zeros if that is refused.
    public func zero(offset: Int64, length: Int64) throws {
        if isBlockDevice && clinux_blkzeroout(fd, UInt64(offset), UInt64(length)) == 0 { return }
        let zeros = [UInt8](repeating: 0, count: 1 << 20)
        var at = offset
        while at < offset + length {
            let n = Int(min(Int64(zeros.count), offset + length - at))
            try zeros.withUnsafeBytes { try write(UnsafeRawBufferPointer(rebasing: $0[0..<n]), at: at) }
            at += Int64(n)
        }
    }

    public func sync() throws {
        guard fsync(fd) == 0 else { throw RescueError("flushing \(path) failed: \(errnoText())") }
    }

    private func errnoText() -> String { String(cString: strerror(errno)) }
}
