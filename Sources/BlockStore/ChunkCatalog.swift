import Foundation
internal import GRDB
public import ChunkFormat

/// Where a chunk's frame lies: in which pack, at which offset, how long.
public struct ChunkLocation: Sendable, Hashable {
    public var pack: Int64
    /// Offset of the zstd frame (after the record header).
    public var offset: Int64
    public var length: Int
    public var plainLength: Int
}

/// A chunk written by a writer, to be recorded at its commit.
public struct StoredChunk: Sendable, Hashable {
    public var id: ChunkID
    public var location: ChunkLocation
}

/// The chunk and pack tables of the catalog.
extension Catalog {
    static func insertChunks(_ chunks: [StoredChunk], _ db: Database) throws {
        let statement = try db.cachedStatement(sql: "INSERT OR IGNORE INTO chunk (id, pack, offset, length, plainLength) VALUES (?, ?, ?, ?, ?)")
        for c in chunks {
            try statement.execute(arguments: [Data(c.id.bytes), c.location.pack, c.location.offset, c.location.length, c.location.plainLength])
        }
    }

    /// Registers a new pack; its id names the file. The id is above `highestFile`, the highest
    /// pack number with a file, so a catalog older than its packs (put back from a backup) never
    /// hands out the number of a pack it does not know.
    func newPack(above highestFile: Int64) throws -> Int64 {
        try write { db in
            let next = max(try Self.packSequence(db), highestFile) + 1
            try db.execute(sql: "INSERT INTO pack (id, created) VALUES (?, ?)", arguments: [next, Date().timeIntervalSince1970])
            return next
        }
    }

    private static func packSequence(_ db: Database) throws -> Int64 {
        try Int64.fetchOne(db, sql: "SELECT seq FROM sqlite_sequence WHERE name = 'pack'") ?? 0
    }

    /// Where each of `ids` is stored; absent ids are missing from the result.
    func locations(_ ids: some Collection<ChunkID>) throws -> [ChunkID: ChunkLocation] {
        guard !ids.isEmpty else { return [:] }
        return try read { db in
            var out: [ChunkID: ChunkLocation] = [:]
            let unique = Array(Set(ids))
            for start in stride(from: 0, to: unique.count, by: 500) {
                let part = unique[start..<min(start + 500, unique.count)]
                let marks = Array(repeating: "?", count: part.count).joined(separator: ",")
                let rows = try Row.fetchCursor(db, sql: "SELECT id, pack, offset, length, plainLength FROM chunk WHERE id IN (\(marks))",
                                               arguments: StatementArguments(part.map { Data($0.bytes) }))
                while let row = try rows.next() {
                    let (id, location) = Self.chunk(row)
                    out[id] = location
                }
            }
            return out
        }
    }

    /// Every stored chunk, in pack order.
    func forEachChunk(_ body: (ChunkID, ChunkLocation) throws -> Void) throws {
        try read { db in
            let rows = try Row.fetchCursor(db, sql: "SELECT id, pack, offset, length, plainLength FROM chunk ORDER BY pack, offset")
            while let row = try rows.next() {
                let (id, location) = Self.chunk(row)
                try body(id, location)
            }
        }
    }

    public func chunkCount() throws -> Int {
        try read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM chunk") ?? 0 }
    }

    func packIDs() throws -> Set<Int64> {
        try read { db in Set(try Int64.fetchAll(db, sql: "SELECT id FROM pack")) }
    }

    func deleteChunks(_ ids: [ChunkID]) throws {
        try write { db in
            let statement = try db.cachedStatement(sql: "DELETE FROM chunk WHERE id = ?")
            for id in ids { try statement.execute(arguments: [Data(id.bytes)]) }
        }
    }

    /// Points the rows of copied chunks at their new records, in one transaction; a row that no
    /// longer names the record it was copied from is left alone.
    func moveChunks(_ moves: [(id: ChunkID, from: ChunkLocation, to: ChunkLocation)]) throws {
        try write { db in
            let statement = try db.cachedStatement(sql: "UPDATE chunk SET pack = ?, offset = ? WHERE id = ? AND pack = ? AND offset = ?")
            for move in moves {
                try statement.execute(arguments: [move.to.pack, move.to.offset, Data(move.id.bytes), move.from.pack, move.from.offset])
            }
        }
    }

    /// Deletes the rows of packs whose files gc removed (they hold no chunk row).
    func deletePacks(_ ids: some Collection<Int64>) throws {
        try write { db in
            let statement = try db.cachedStatement(sql: "DELETE FROM pack WHERE id = ? AND NOT EXISTS (SELECT 1 FROM chunk WHERE pack = ?)")
            for id in ids { try statement.execute(arguments: [id, id]) }
        }
    }

    private static func chunk(_ row: Row) -> (ChunkID, ChunkLocation) {
        let data: Data = row[0]
        let id = data.withUnsafeBytes { ChunkID(bytes: $0.baseAddress!) }
        return (id, ChunkLocation(pack: row[1], offset: row[2], length: row[3], plainLength: row[4]))
    }
}
