import Foundation
public import Zstd
import Synchronization
import Core
public import ChunkFormat

/// The chunks of a store: records in pack files under `packs/`, located through the catalog's
/// chunk table. Every read of a chunk's content verifies its SHA-256 name.
public final class ChunkStore: Sendable {
    public let root: String
    let catalog: Catalog
    /// Open pack files, kept until gc removes or rewrites the pack (`file(ofPack:)`), each with
    /// when it was last seen linked.
    private let open = Mutex<[Int64: (file: FileDescriptor, seen: ContinuousClock.Instant)]>([:])
    /// Locations looked up in batches by `prefetch`, so per-chunk reads need no query.
    private let cached = Mutex<[ChunkID: ChunkLocation]>([:])

    init(root: String, catalog: Catalog) {
        self.root = root
        self.catalog = catalog
    }

    static let maxOpenPacks = 256

    /// How often a cached pack is checked for having been unlinked (one `fstat`, not one per read).
    static let unlinkCheckInterval = Duration.seconds(1)

    private static func isUnlinked(_ file: FileDescriptor) -> Bool {
        var st = stat()
        return fstat(file.fd, &st) == 0 && st.st_nlink == 0
    }

    public func path(ofPack pack: Int64) -> String { root + "/\(pack).pack" }
    func tempPath(ofPack pack: Int64) -> String { root + "/\(pack).pack.tmp" }

    func file(ofPack pack: Int64) throws -> FileDescriptor {
        let now = ContinuousClock.now
        if let cached = open.withLock({ $0[pack] }) {
            if now - cached.seen < Self.unlinkCheckInterval { return cached.file }
            // A pack gc rewrote is unlinked; holding it open would keep its space from the file
            // system for as long as a long-running reader (the chunk service) lives.
            if !Self.isUnlinked(cached.file) {
                open.withLock { if $0[pack]?.file === cached.file { $0[pack]?.seen = now } }
                return cached.file
            }
            open.withLock { if $0[pack]?.file === cached.file { $0[pack] = nil } }
        }
        let file = try FileDescriptor(path: path(ofPack: pack), flags: O_RDONLY)
        return open.withLock { table in
            if let existing = table[pack] { return existing.file }
            // Bounded: a store of thousands of packs must not exhaust file descriptors.
            if table.count >= Self.maxOpenPacks { table.removeAll(keepingCapacity: true) }
            table[pack] = (file, now)
            return file
        }
    }

    /// Closes `packs` if open (gc removed or rewrote them), so their space goes back at once.
    func close(packs: some Sequence<Int64>) {
        open.withLock { table in for pack in packs { table[pack] = nil } }
    }

    public func location(of id: ChunkID) throws -> ChunkLocation? {
        if let hit = cached.withLock({ $0[id] }) { return hit }
        return try catalog.locations([id])[id]
    }

    public func locations(of ids: some Collection<ChunkID>) throws -> [ChunkID: ChunkLocation] {
        try catalog.locations(ids)
    }

    public func contains(_ id: ChunkID) throws -> Bool { try location(of: id) != nil }

    public func count() throws -> Int { try catalog.chunkCount() }

    /// The stored frame at a known location, exactly as on disk.
    public func storedBytes(at location: ChunkLocation, id: ChunkID) throws -> [UInt8] {
        var out = [UInt8](repeating: 0, count: location.length)
        try out.withUnsafeMutableBytes { try readStored(at: location, id: id, into: $0.baseAddress!) }
        return out
    }

    /// Reads the stored frame into `buffer` (`location.length` bytes), e.g. straight into a
    /// network buffer: the chunk service sends frames without an intermediate copy.
    /// A location looked up before gc rewrote its pack (`PackCompaction`) leads to a pack that is
    /// gone: the chunk is then looked up again and read where it lives now.
    public func readStored(at location: ChunkLocation, id: ChunkID, into buffer: UnsafeMutableRawPointer) throws {
        var location = location
        let file: FileDescriptor
        do {
            file = try self.file(ofPack: location.pack)
        } catch let error as UnderstudyError where error.code == .notFound {
            cached.withLock { _ = $0.removeValue(forKey: id) }
            guard let moved = try catalog.locations([id])[id], moved.pack != location.pack, moved.length == location.length else { throw error }
            location = moved
            file = try self.file(ofPack: location.pack)
        }
        let n = try file.read(into: buffer, count: location.length, at: location.offset)
        guard n == location.length else {
            throw UnderstudyError(.corruptChunk, "chunk \(id.hex) is cut short: pack \(location.pack) ends inside it",
                             at: .init(chunk: id.hex, path: path(ofPack: location.pack)))
        }
    }

    /// The whole record at a known location: its `PackRecord` header, then the frame.
    func storedRecord(at location: ChunkLocation, id: ChunkID) throws -> [UInt8] {
        let start = location.offset - Int64(PackRecord.headerSize)
        var out = [UInt8](repeating: 0, count: PackRecord.headerSize + location.length)
        let n = try out.withUnsafeMutableBytes { try self.file(ofPack: location.pack).read(into: $0.baseAddress!, count: $0.count, at: start) }
        guard n == out.count else {
            throw UnderstudyError(.corruptChunk, "chunk \(id.hex) is cut short: pack \(location.pack) ends inside it",
                             at: .init(chunk: id.hex, path: path(ofPack: location.pack)))
        }
        return out
    }

    /// Every stored chunk with its location, in pack order.
    public func forEachChunk(_ body: (ChunkID, ChunkLocation) throws -> Void) throws {
        try catalog.forEachChunk(body)
    }
}

/// Anything that can hand out stored chunks: the local store, a remote server, a cache.
/// Formats and restore read through this, never through pack files.
public protocol ChunkReader: Sendable {
    /// The stored bytes (zstd frame) of a chunk, unverified.
    func storedBytes(of id: ChunkID) throws -> [UInt8]
    /// Announces the chunks about to be read, so a reader can look them up (or fetch them) at once.
    func prefetch(_ ids: [ChunkID]) throws
}

extension ChunkReader {
    public func prefetch(_ ids: [ChunkID]) throws {}
}

extension ChunkStore: ChunkReader {
    public func storedBytes(of id: ChunkID) throws -> [UInt8] {
        guard let location = try location(of: id) else {
            throw UnderstudyError(.missingChunk, "chunk \(id.hex) is missing from the store", at: .init(chunk: id.hex))
        }
        return try storedBytes(at: location, id: id)
    }

    public func prefetch(_ ids: [ChunkID]) throws {
        let found = try locations(of: ids.filter { !$0.isZero })
        cached.withLock { table in
            if table.count > 1 << 16 { table.removeAll(keepingCapacity: true) }
            table.merge(found) { a, _ in a }
        }
    }
}

extension ChunkReader {
    /// Expands a chunk into `output` (its exact plaintext size) and verifies its SHA-256.
    public func read(_ id: ChunkID, into output: UnsafeMutableRawBufferPointer, using decompressor: Decompressor) throws {
        try ChunkFrame.expand(try storedBytes(of: id), id: id, into: output, using: decompressor)
    }

    /// Expands a stored frame of unknown plaintext size (index pages) and verifies it.
    public func read(_ id: ChunkID, using decompressor: Decompressor, maxSize: Int) throws -> [UInt8] {
        try ChunkFrame.expandUnsized(try storedBytes(of: id), id: id, using: decompressor, maxSize: maxSize)
    }
}
