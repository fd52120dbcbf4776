public import Foundation

/// What a rescue restore has finished, kept beside the target so that the same command, run again
/// after a kill or a lost link, continues instead of starting over. It names the exact point (by
/// the digest of its block map): a journal of another point is ignored. Rewritten atomically (temp
/// file, fsync, rename), always after the target itself was flushed, so it never claims more than
/// the target holds.
public struct RescueJournal: Codable, Sendable, Equatable {
    public var version = 1
    public var machine: String
    public var point: Int64
    public var indexDigest: String
    public var diskSize: Int64
    /// Zero blocks already zeroed (devices) or known to be holes (fresh files).
    public var zeroed = false
    /// One bit per distinct chunk, in the index's chunk order: written to every block using it.
    public var done: Data

    public init(machine: String, point: Int64, indexDigest: String, diskSize: Int64, chunkCount: Int) {
        self.machine = machine
        self.point = point
        self.indexDigest = indexDigest
        self.diskSize = diskSize
        self.done = Data(count: (chunkCount + 7) / 8)
    }

    public func isDone(_ chunk: Int) -> Bool { done[chunk >> 3] & (1 << UInt8(chunk & 7)) != 0 }
    public mutating func markDone(_ chunk: Int) { done[chunk >> 3] |= 1 << UInt8(chunk & 7) }
    public var doneCount: Int { done.reduce(0) { $0 + $1.nonzeroBitCount } }

    /// The default place: next to a file target, under /run for a device (tmpfs in the rescue
    /// system: it survives a killed client or a dropped link, not a reboot).
    public static func defaultPath(forTarget target: String, isBlockDevice: Bool) -> String {
        isBlockDevice ? "/run/understudy-rescue/" + URL(fileURLWithPath: target).lastPathComponent + ".journal"
                      : target + ".rescue-journal"
    }

    public static func load(_ path: String) -> RescueJournal? {
        guard let data = FileManager.default.contents(atPath: path) else { return nil }
        return try? JSONDecoder().decode(RescueJournal.self, from: data)
    }

    public func save(_ path: String) throws {
        let folder = URL(fileURLWithPath: path).deletingLastPathComponent().path
        try? FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let temp = path + ".tmp"
        let data = try JSONEncoder().encode(self)
        let fd = open(temp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw RescueError("cannot write the resume journal \(temp): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        let written = data.withUnsafeBytes { Foundation.write(fd, $0.baseAddress!, $0.count) }
        guard written == data.count, fsync(fd) == 0, rename(temp, path) == 0 else {
            throw RescueError("cannot write the resume journal \(path): \(String(cString: strerror(errno)))")
        }
        let dir = open(folder, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if dir >= 0 { fsync(dir); close(dir) }
    }

    public static func remove(_ path: String) { unlink(path) }
}
