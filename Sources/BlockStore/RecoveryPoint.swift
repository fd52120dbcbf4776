public import Foundation
import Core

/// A machine known to the store; its block size is fixed at its first capture.
public struct Machine: Codable, Sendable, Hashable {
    public var name: String
    public var blockSize: Int
    public var created: Date

    public init(name: String, blockSize: Int, created: Date) {
        self.name = name
        self.blockSize = blockSize
        self.created = created
    }

    /// Letters, digits, `.`, `_`, `-`; 1–64 characters; not starting with `.` or `-`.
    public static func validate(name: String) throws {
        let allowed = name.utf8.allSatisfy { c in
            (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c == 0x2e || c == 0x5f || c == 0x2d
        }
        guard !name.isEmpty, name.utf8.count <= 64, allowed, !name.hasPrefix("."), !name.hasPrefix("-") else {
            throw UnderstudyError(.invalidArgument, "invalid machine name '\(name)': use 1-64 letters, digits, '.', '_' or '-', not starting with '.' or '-'")
        }
    }
}

/// One capture of one machine's disk.
public struct RecoveryPoint: Codable, Sendable, Hashable {
    public var id: Int64?
    public var machine: String
    /// When the capture started reading the source.
    public var time: Date
    public var diskSize: Int64
    public var blockSize: Int
    public var index: BlockIndexRoot
    /// The point this one was compared with, if any.
    public var parent: Int64?
    public var source: String
    public var stats: CaptureStats
    /// The source disk's logical sector size (512, or 4096 for 4Kn disks).
    public var sectorSize: Int

    public init(id: Int64? = nil, machine: String, time: Date, diskSize: Int64, blockSize: Int,
                index: BlockIndexRoot, parent: Int64?, source: String, stats: CaptureStats, sectorSize: Int = 512) {
        self.id = id; self.machine = machine; self.time = time; self.diskSize = diskSize
        self.blockSize = blockSize; self.index = index; self.parent = parent; self.source = source
        self.stats = stats; self.sectorSize = sectorSize
    }

    public var blockCount: Int { index.blockCount }
}

/// What a capture found and wrote.
public struct CaptureStats: Codable, Sendable, Hashable {
    /// Blocks holding data (not all zero).
    public var dataBlocks = 0
    public var zeroBlocks = 0
    /// Blocks whose chunk differs from the parent point's.
    public var changedBlocks = 0
    /// Data blocks whose chunk was already stored (in this or any point or machine).
    public var dedupBlocks = 0
    /// Chunks this capture wrote (blocks and index pages).
    public var newChunks = 0
    /// Plaintext bytes of those chunks.
    public var newBytes: Int64 = 0
    /// Bytes those chunks take on disk (compressed).
    public var storedBytes: Int64 = 0
    /// Index pages written (the point's metadata cost).
    public var indexPages = 0
    public var seconds: Double = 0

    public init() {}
}
