import BlockStore
import Foundation
import Core

/// A disk to capture: an image file or a block device, read with large aligned reads.
public final class SourceDisk: Sendable {
    public let path: String
    public let size: Int64
    public let isBlockDevice: Bool
    /// Logical sector size: a device's own (BLKSSZGET); for an image file, what the caller says
    /// (512 unless the image is of a 4Kn disk).
    public let sectorSize: Int
    private let file: FileDescriptor

    /// Opens `spec`: a path to a raw image file or a block device.
    public init(_ spec: String, sectorSize fileSectorSize: Int = 512) throws {
        path = spec
        var st = stat()
        guard stat(spec, &st) == 0 else {
            throw UnderstudyError(.notFound, "source \(spec): \(String(cString: strerror(errno)))", at: .init(path: spec))
        }
        let kind = st.st_mode & S_IFMT
        guard kind == S_IFREG || kind == S_IFBLK else {
            throw UnderstudyError(.unsupported, "source \(spec) is neither a regular file nor a block device", at: .init(path: spec))
        }
        isBlockDevice = kind == S_IFBLK
        // Devices are read around the page cache; files (often just written) through it.
        if isBlockDevice, let direct = try? FileDescriptor(path: spec, flags: O_RDONLY | FileDescriptor.directIO) {
            file = direct
        } else {
            file = try FileDescriptor(path: spec, flags: O_RDONLY)
        }
        size = try file.size()
        sectorSize = file.logicalSectorSize() ?? fileSectorSize
        guard size > 0 else { throw UnderstudyError(.unsupported, "source \(spec) is empty", at: .init(path: spec)) }
        _ = posix_fadvise(file.fd, 0, 0, POSIX_FADV_SEQUENTIAL)
    }

    /// Reads `count` bytes at `offset` into an aligned buffer; a short read means the disk changed size.
    public func read(into buffer: UnsafeMutableRawPointer, count: Int, at offset: Int64) throws {
        let n = try file.read(into: buffer, count: count, at: offset)
        guard n == count else {
            throw UnderstudyError(.io, "source \(path) ended at \(offset + Int64(n)) while reading \(count) bytes at \(offset): it shrank during the capture",
                             at: .init(offset: offset + Int64(n), path: path))
        }
    }

    /// Hints that `count` bytes at `offset` are read next.
    public func prefetch(_ count: Int, at offset: Int64) {
        _ = posix_fadvise(file.fd, off_t(offset), off_t(count), POSIX_FADV_WILLNEED)
    }
}
