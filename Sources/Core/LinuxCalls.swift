import Foundation
internal import CLinux

/// The Linux calls Swift cannot import directly (GNU extensions, ioctl requests), behind Swift
/// methods that throw `UnderstudyError`. This file is the only importer of `CLinux`.
extension FileDescriptor {
    /// `O_DIRECT`, which Swift's Glibc does not import: reads that bypass the page cache.
    public static var directIO: Int32 { clinux_o_direct() }

    /// Starts writing dirty pages back without waiting (`sync_file_range`), so the final `sync`
    /// has less to wait for (the disk works while we compute). Best effort.
    public func startWriteback() {
        _ = clinux_start_writeback(fd, 0, 0)
    }

    /// A block device's size in bytes (`BLKGETSIZE64`).
    func blockDeviceSize() throws -> Int64 {
        var bytes: UInt64 = 0
        if clinux_blkgetsize64(fd, &bytes) != 0 { throw UnderstudyError.errno("BLKGETSIZE64", path: path) }
        return Int64(bytes)
    }

    /// A block device's logical sector size (`BLKSSZGET`); nil for a file or if the device will not say.
    public func logicalSectorSize() -> Int? {
        var size: Int32 = 0
        guard isBlockDevice, clinux_blksszget(fd, &size) == 0, size > 0 else { return nil }
        return Int(size)
    }

    /// Makes `length` bytes at `offset` read as zeros. A block device is asked first
    /// (`BLKZEROOUT`: the disk or the hypervisor may zero without writing); where it refuses, and
    /// on a file, zeros are written.
    public func zeroRange(offset: Int64, length: Int64) throws {
        guard length > 0 else { return }
        if isBlockDevice && clinux_blkzeroout(fd, UInt64(offset), UInt64(length)) == 0 { return }
        let zeros = AlignedBuffer(count: Int(min(length, 1 << 20)))
        memset(zeros.pointer, 0, zeros.count)
        var done: Int64 = 0
        while done < length {
            let n = Int(min(Int64(zeros.count), length - done))
            try write(UnsafeRawBufferPointer(zeros.slice(0, n)), at: offset + done)
            done += Int64(n)
        }
    }

    /// Frees `length` bytes at `offset` and makes them read as zeros, keeping the file's size
    /// (`fallocate` punch hole). False where the file system cannot punch holes.
    @discardableResult
    public func punchHole(offset: Int64, length: Int64) throws -> Bool {
        if clinux_punch_hole(fd, offset, length) == 0 { return true }
        if errno == EOPNOTSUPP { return false }
        throw UnderstudyError.errno("punching a hole in", path: path)
    }

    /// `syncfs(2)`: everything written on the file system holding this file becomes durable.
    func syncFileSystem() throws {
        if clinux_syncfs(fd) != 0 { throw UnderstudyError.errno("syncfs", path: path) }
    }
}
