import Foundation
import Core

/// Frees the space in a pack that no catalog row names.
///
/// Every record a capture writes gets its chunk row in the commit of its point, so under gc's
/// exclusive lock (no writer between append and commit) a byte of a pack that no row's record
/// covers is dead: a record gc deleted the row of (and was killed before punching), a chunk a
/// concurrent writer also stored (its row was kept, this copy never got one), or a hole already.
/// The sweep punches every such gap, so an interrupted gc leaves nothing a later one cannot free.
struct PackSweep {
    // lseek(2) whences from <unistd.h> (GNU), which Swift's Glibc does not import.
    private static let seekData: Int32 = 3
    private static let seekHole: Int32 = 4

    let path: String
    let file: FileDescriptor
    let blockSize: Int64
    let size: Int64

    /// Opens the pack; read-only unless it will be punched.
    init(path: String, punching: Bool) throws {
        self.path = path
        file = try FileDescriptor(path: path, flags: punching ? O_RDWR : O_RDONLY)
        var st = stat()
        if fstat(file.fd, &st) != 0 { throw UnderstudyError.errno("stat", path: path) }
        blockSize = max(Int64(st.st_blksize), 512)
        size = Int64(st.st_size)
    }

    /// The gaps between `live` extents (sorted by start), up to the end of the file.
    func gaps(between live: [PackExtent]) -> [PackExtent] {
        var out: [PackExtent] = []
        var at: Int64 = 0
        for extent in live {
            if extent.start > at { out.append(PackExtent(start: at, end: extent.start)) }
            at = max(at, extent.end)
        }
        if size > at { out.append(PackExtent(start: at, end: size)) }
        return out
    }

    /// Allocated bytes in the whole blocks inside `gap` (the partial blocks at its edges hold
    /// live bytes of the neighbouring records and cannot be freed).
    func freeable(_ gap: PackExtent) throws -> Int64 {
        let first = (gap.start + blockSize - 1) / blockSize * blockSize
        let last = gap.end / blockSize * blockSize
        guard first < last else { return 0 }
        var total: Int64 = 0
        var at = first
        while at < last {
            let data = lseek(file.fd, off_t(at), Self.seekData)
            if data < 0 {
                if errno == ENXIO { break }  // no data after `at`
                if errno == EINVAL { return last - at }  // no SEEK_DATA here: assume allocated
                throw UnderstudyError.errno("seeking data in", path: path)
            }
            guard Int64(data) < last else { break }
            let hole = lseek(file.fd, data, Self.seekHole)
            if hole < 0 { throw UnderstudyError.errno("seeking a hole in", path: path) }
            total += min(Int64(hole), last) - Int64(data)
            at = Int64(hole)
        }
        return total
    }

    /// The blocks `live` extents (sorted by start) touch, in bytes.
    func touched(by live: [PackExtent]) -> Int64 {
        var total: Int64 = 0
        var covered: Int64 = 0  // blocks before this offset are counted
        for extent in live where extent.end > extent.start {
            let first = max(extent.start / blockSize * blockSize, covered)
            let last = (extent.end + blockSize - 1) / blockSize * blockSize
            if last > first { total += last - first }
            covered = max(covered, last)
        }
        return total
    }

    /// What the pack takes on disk now.
    func allocated() throws -> Int64 {
        var st = stat()
        if fstat(file.fd, &st) != 0 { throw UnderstudyError.errno("stat", path: path) }
        return Int64(st.st_blocks) * 512
    }

    /// Punches `gap` out (its partial edge blocks are zeroed, whole blocks freed).
    func punch(_ gap: PackExtent) throws {
        try file.punchHole(offset: gap.start, length: gap.end - gap.start)
    }
}
