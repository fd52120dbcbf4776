import BlockStore
import Foundation
import Core

/// Where a raw restore writes: a new file (built aside, renamed into place at the end) or a block
/// device (written in place after the safety checks).
final class RestoreTarget: @unchecked Sendable {
    let path: String
    let file: FileDescriptor
    let isDevice: Bool
    private let tempPath: String?
    private var published = false

    /// Opens `path` for a disk of `diskSize` bytes. `force` allows replacing an existing file or
    /// overwriting a device that holds data; nothing allows a mounted or too-small device.
    init(path: String, diskSize: Int64, force: Bool) throws {
        self.path = path
        var st = stat()
        let exists = stat(path, &st) == 0
        if exists && (st.st_mode & S_IFMT) == S_IFBLK {
            isDevice = true
            tempPath = nil
            // O_EXCL on a block device fails with EBUSY while it is mounted or claimed.
            file = try FileDescriptor(path: path, flags: O_RDWR | O_EXCL)
            let size = try file.size()
            guard size >= diskSize else {
                throw UnderstudyError(.targetTooSmall, "target \(path) holds \(size) bytes, the disk needs \(diskSize)", at: .init(path: path))
            }
            if !force, try Self.holdsData(file, size: size) {
                throw UnderstudyError(.targetHasData, "target \(path) already holds data (partition table or file system); pass --force to overwrite it",
                                 at: .init(path: path))
            }
            return
        }
        if exists {
            guard (st.st_mode & S_IFMT) == S_IFREG else {
                throw UnderstudyError(.unsupported, "target \(path) is neither a regular file nor a block device", at: .init(path: path))
            }
            guard force else {
                throw UnderstudyError(.alreadyExists, "target \(path) exists; pass --force to replace it", at: .init(path: path))
            }
        }
        isDevice = false
        let url = URL(fileURLWithPath: path)
        let folder = url.deletingLastPathComponent().path
        guard FileSystem.exists(folder) else {
            throw UnderstudyError(.notFound, "target folder \(folder) does not exist", at: .init(path: path))
        }
        let temp = folder + "/." + url.lastPathComponent + ".understudy-\(getpid())"
        tempPath = temp
        file = try FileDescriptor(path: temp, flags: O_RDWR | O_CREAT | O_TRUNC)
    }

    deinit {
        if let tempPath, !published { unlink(tempPath) }
    }

    private static func holdsData(_ file: FileDescriptor, size: Int64) throws -> Bool {
        let probe = AlignedBuffer(count: 1 << 20)
        for offset in [0, max(0, size - Int64(probe.count))] {
            let n = try file.read(into: probe.pointer, count: Int(min(Int64(probe.count), size)), at: offset)
            if !isAllZero(UnsafeRawBufferPointer(probe.slice(0, n))) { return true }
        }
        return false
    }

    /// Makes a zero range read as zeros: a hole in a new file needs nothing, a device is zeroed.
    func zero(offset: Int64, length: Int64) throws {
        guard isDevice else { return }
        try file.zeroRange(offset: offset, length: length)
    }

    /// The file being written (the temp file until `publish`).
    var writingPath: String { tempPath ?? path }

    /// Makes everything durable and, for a file, renames it into place; `beforeRename` runs
    /// once the content is durable (to record what the image holds).
    func publish(beforeRename: () throws -> Void = {}) throws {
        try file.sync()
        try beforeRename()
        if let tempPath {
            try FileSystem.rename(tempPath, to: path)
            published = true
            try FileSystem.syncDirectory(of: path)
        }
    }
}
