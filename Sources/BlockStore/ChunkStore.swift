import Foundation
public import Zstd
import Synchronization
import Core
public import ChunkFormat

/// The chunks of a store: records in packs (`PackStorage`), located through the catalog's chunk
/// table. Every read of a chunk's content verifies its SHA-256 name.
public final class ChunkStore: Sendable {
    public let storage: any PackStorage
    let catalog: Catalog
    /// Locations looked up in batches by `prefetch`, so per-chunk reads need no query.
    private let cached = Mutex<[ChunkID: ChunkLocation]>([:])

    init(storage: any PackStorage, catalog: Catalog) {
        self.storage = storage
        self.catalog = catalog
    }

    /// A number for a new pack: above every pack the catalog or the storage has.
    func newPack() throws -> Int64 {
        try catalog.newPack(above: storage.packs().max() ?? 0)
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
        let n: Int
        do {
            n = try storage.read(location.pack, at: location.offset, count: location.length, into: buffer)
        } catch let error as UnderstudyError where error.code == .notFound {
            cached.withLock { _ = $0.removeValue(forKey: id) }
            guard let moved = try catalog.locations([id])[id], moved.pack != location.pack, moved.length == location.length else { throw error }
            location = moved
            n = try storage.read(location.pack, at: location.offset, count: location.length, into: buffer)
        }
        guard n == location.length else { throw cutShort(id, location) }
    }

    /// The whole record at a known location: its `PackRecord` header, then the frame.
    func storedRecord(at location: ChunkLocation, id: ChunkID) throws -> [UInt8] {
        let start = location.offset - Int64(PackRecord.headerSize)
        var out = [UInt8](repeating: 0, count: PackRecord.headerSize + location.length)
        let n = try out.withUnsafeMutableBytes { try storage.read(location.pack, at: start, count: $0.count, into: $0.baseAddress!) }
        guard n == out.count else { throw cutShort(id, location) }
        return out
    }

    private func cutShort(_ id: ChunkID, _ location: ChunkLocation) -> UnderstudyError {
        UnderstudyError(.corruptChunk, "chunk \(id.hex) is cut short: pack \(location.pack) ends inside it",
                        at: .init(chunk: id.hex, path: storage.name(of: location.pack)))
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
