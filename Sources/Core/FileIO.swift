public import Foundation

/// An owned file descriptor, closed in `deinit`.
public final class FileDescriptor: @unchecked Sendable {
    public let fd: Int32
    public let path: String

    /// Opens `path`; failures become `UnderstudyError` naming the path.
    public init(path: String, flags: Int32, mode: mode_t = 0o644) throws {
        let fd = open(path, flags | O_CLOEXEC, mode)
        if fd < 0 {
            let code = errno
            let posix = POSIXErrorCode(rawValue: code).map { POSIXError($0) }
            if code == ENOENT { throw UnderstudyError(.notFound, "\(path): no such file or directory", at: .init(path: path), underlying: posix) }
            if code == EBUSY { throw UnderstudyError(.targetInUse, "\(path) is in use (mounted or held open exclusively)", at: .init(path: path), underlying: posix) }
            throw UnderstudyError.errno("open", path: path, errno: code)
        }
        self.fd = fd
        self.path = path
    }

    deinit { close(fd) }

    /// Reads exactly `count` bytes at `offset`, or fewer only at end of file; returns the count read.
    public func read(into buffer: UnsafeMutableRawPointer, count: Int, at offset: Int64) throws -> Int {
        var done = 0
        while done < count {
            let n = pread(fd, buffer + done, count - done, off_t(offset) + off_t(done))
            if n < 0 {
                if errno == EINTR { continue }
                throw UnderstudyError.errno("read", path: path)
            }
            if n == 0 { break }
            done += n
        }
        return done
    }

    /// Writes all of `buffer` at `offset`.
    public func write(_ buffer: UnsafeRawBufferPointer, at offset: Int64) throws {
        var done = 0
        while done < buffer.count {
            let n = pwrite(fd, buffer.baseAddress! + done, buffer.count - done, off_t(offset) + off_t(done))
            if n < 0 {
                if errno == EINTR { continue }
                throw UnderstudyError.errno("write", path: path)
            }
            done += n
        }
    }

    public func sync() throws {
        if fsync(fd) != 0 { throw UnderstudyError.errno("fsync", path: path) }
    }

    public func truncate(to size: Int64) throws {
        if ftruncate(fd, off_t(size)) != 0 { throw UnderstudyError.errno("truncate", path: path) }
    }

    /// The size of a regular file, or of a block device (BLKGETSIZE64).
    public func size() throws -> Int64 {
        var st = stat()
        if fstat(fd, &st) != 0 { throw UnderstudyError.errno("stat", path: path) }
        if (st.st_mode & S_IFMT) == S_IFBLK { return try blockDeviceSize() }
        return Int64(st.st_size)
    }

    public var isBlockDevice: Bool {
        var st = stat()
        return fstat(fd, &st) == 0 && (st.st_mode & S_IFMT) == S_IFBLK
    }
}

/// Page-aligned memory for large and O_DIRECT-friendly reads; freed in `deinit`.
public final class AlignedBuffer: @unchecked Sendable {
    public let pointer: UnsafeMutableRawPointer
    public let count: Int

    public init(count: Int, alignment: Int = 4096) {
        var raw: UnsafeMutableRawPointer?
        guard posix_memalign(&raw, alignment, max(count, 1)) == 0, let raw else {
            fatalError("posix_memalign(\(count)) failed: out of memory")
        }
        pointer = raw
        self.count = count
    }

    deinit { free(pointer) }

    public var bytes: UnsafeMutableRawBufferPointer { UnsafeMutableRawBufferPointer(start: pointer, count: count) }

    public func slice(_ offset: Int, _ length: Int) -> UnsafeMutableRawBufferPointer {
        UnsafeMutableRawBufferPointer(start: pointer + offset, count: length)
    }
}

/// Small file-system helpers every module uses.
public enum FileSystem {
    /// Writes `data` to `path` crash-safely: temp file in the same folder, fsync, rename, fsync folder.
    public static func writeAtomically(_ data: some DataProtocol, to path: String) throws {
        let temp = path + ".tmp-\(getpid())"
        do {
            let file = try FileDescriptor(path: temp, flags: O_WRONLY | O_CREAT | O_TRUNC)
            let bytes = Array(data)
            try bytes.withUnsafeBytes { (buffer) throws in try file.write(buffer, at: 0) }
            try file.sync()
        } catch {
            unlink(temp)
            throw error
        }
        try rename(temp, to: path)
        try syncDirectory(of: path)
    }

    public static func rename(_ from: String, to: String) throws {
        if Foundation.rename(from, to) != 0 { throw UnderstudyError.errno("rename", path: "\(from) -> \(to)") }
    }

    /// fsync the folder holding `path`, so a rename or create in it is durable.
    public static func syncDirectory(of path: String) throws {
        try syncDirectory((path as NSString).deletingLastPathComponent)
    }

    public static func syncDirectory(_ directory: String) throws {
        let dir = try FileDescriptor(path: directory.isEmpty ? "." : directory, flags: O_RDONLY | O_DIRECTORY)
        try dir.sync()
    }

    /// syncfs(2): everything written on the file system holding `path` becomes durable.
    public static func syncFileSystem(of path: String) throws {
        try FileDescriptor(path: path, flags: O_RDONLY | O_DIRECTORY).syncFileSystem()
    }

    public static func makeDirectory(_ path: String, mode: mode_t = 0o755) throws {
        if mkdir(path, mode) != 0 && errno != EEXIST { throw UnderstudyError.errno("mkdir", path: path) }
    }

    public static func exists(_ path: String) -> Bool { access(path, F_OK) == 0 }

    /// Removes a folder and everything below it; missing is fine.
    public static func removeTree(_ path: String) {
        try? FileManager.default.removeItem(atPath: path)
    }

    /// Reads a whole (small) file.
    public static func readFile(_ path: String) throws -> [UInt8] {
        let file = try FileDescriptor(path: path, flags: O_RDONLY)
        let size = Int(try file.size())
        if size == 0 { return [] }
        var out = [UInt8](repeating: 0, count: size)
        let n = try out.withUnsafeMutableBytes { (buffer) throws in
            try file.read(into: buffer.baseAddress!, count: size, at: 0)
        }
        if n < size { out.removeLast(size - n) }
        return out
    }
}
