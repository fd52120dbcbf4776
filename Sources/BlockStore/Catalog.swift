import Foundation
internal import GRDB
import Core
import ChunkFormat

/// The SQLite catalog: machines and recovery points (later: standbys, jobs, audit).
/// Chunks are not listed here; the index trees refer to them.
public final class Catalog: Sendable {
    public let path: String
    private let db: DatabasePool
    /// Why this catalog was opened read-only (read-only media, a full disk), or nil.
    public let readOnlyReason: ReadOnlyReason?

    /// Opens (with `create`, makes) the catalog of the store in `folder`; read-only if the store
    /// cannot be written (see `CatalogConnection`).
    init(path: String, folder: String, create: Bool = false) throws {
        self.path = path
        do {
            (db, readOnlyReason) = try Self.open(path: path, folder: folder, create: create)
            if try Self.hasNewerMigrations(db, prefix: "catalog-", known: Self.migrationIdentifiers) {
                throw UnderstudyError(.newerFormat, "catalog \(path) was written by a newer Understudy; upgrade to use this store",
                                 at: .init(path: path))
            }
            if let readOnlyReason {
                guard try db.read({ try Self.migrator.hasCompletedMigrations($0) }) else {
                    throw UnderstudyError(readOnlyReason.code, "catalog \(path) was written by an older Understudy and must be upgraded, which cannot be done here (\(readOnlyReason)); open it once where it can be written",
                                     at: .init(path: path))
                }
            } else {
                try Self.migrator.migrate(db)
            }
            _ = try db.read { try Int.fetchOne($0, sql: "SELECT count(*) FROM point") }
        } catch let error as UnderstudyError {
            throw error
        } catch {
            throw Self.map(error, path: path)
        }
    }

    private static func open(path: String, folder: String, create: Bool) throws -> (DatabasePool, ReadOnlyReason?) {
        if !create, let reason = CatalogConnection.readOnlyReason(folder: folder) {
            return (try CatalogConnection.readOnly(path), reason)
        }
        do {
            let db = try CatalogConnection.writable(path)
            // Opening is lazy: the first read is what creates and maps `-shm`.
            _ = try db.read { try Int.fetchOne($0, sql: "SELECT count(*) FROM sqlite_master") }
            return (db, nil)
        } catch {
            guard !create, let reason = CatalogConnection.fallbackReason(folder: folder, failure: error) else { throw error }
            return (try CatalogConnection.readOnly(path), reason)
        }
    }

    private static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("catalog-v1") { db in
            try db.create(table: "machine") { t in
                t.primaryKey("name", .text)
                t.column("blockSize", .integer).notNull()
                t.column("created", .double).notNull()
            }
            try db.create(table: "point") { t in
                t.autoIncrementedPrimaryKey("id")
                t.column("machine", .text).notNull().indexed().references("machine", onDelete: .restrict)
                t.column("time", .double).notNull()
                t.column("diskSize", .integer).notNull()
                t.column("blockSize", .integer).notNull()
                t.column("blockCount", .integer).notNull()
                t.column("indexRoot", .text).notNull()
                t.column("indexDepth", .integer).notNull()
                t.column("parent", .integer)
                t.column("source", .text).notNull()
                t.column("stats", .text).notNull()
            }
            try db.create(table: "pack") { t in
                t.autoIncrementedPrimaryKey("id")
                t.column("created", .double).notNull()
            }
            // WITHOUT ROWID: the 32-byte id is the key, so a lookup is one b-tree search.
            try db.execute(sql: """
                CREATE TABLE chunk (
                    id BLOB PRIMARY KEY NOT NULL,
                    pack INTEGER NOT NULL,
                    offset INTEGER NOT NULL,
                    length INTEGER NOT NULL,
                    plainLength INTEGER NOT NULL
                ) WITHOUT ROWID
                """)
            try db.create(index: "chunk_pack", on: "chunk", columns: ["pack"])
        }
        migrator.registerMigration("catalog-v2") { db in
            // The source's logical sector size (VHDX records it; 4Kn disks need 4096).
            try db.execute(sql: "ALTER TABLE point ADD COLUMN sectorSize INTEGER NOT NULL DEFAULT 512")
        }
        return migrator
    }

    static let migrationIdentifiers: Set<String> = ["catalog-v1", "catalog-v2"]

    /// True if the database holds migrations of `prefix` this build does not know: a newer
    /// Understudy wrote it. Each module migrates its own tables under its own prefix, so only
    /// the prefix's migrations count (GRDB's `hasBeenSuperseded` would count the others too).
    static func hasNewerMigrations(_ db: DatabasePool, prefix: String, known: Set<String>) throws -> Bool {
        try db.read { db in
            guard try db.tableExists("grdb_migrations") else { return false }
            let applied = try String.fetchAll(db, sql: "SELECT identifier FROM grdb_migrations")
            return applied.contains { $0.hasPrefix(prefix) && !known.contains($0) }
        }
    }

    static func map(_ error: any Error, path: String) -> UnderstudyError {
        if let db = error as? DatabaseError {
            switch db.resultCode {
            case .SQLITE_CORRUPT, .SQLITE_NOTADB:
                return UnderstudyError(.corruptCatalog, "catalog \(path) is damaged (\(db.message ?? "\(db.resultCode)")); the chunks are intact, restore the catalog from a backup",
                                  at: .init(path: path))
            case .SQLITE_FULL:
                return UnderstudyError(.noSpace, "catalog \(path): file system full", at: .init(path: path))
            case .SQLITE_IOERR where CatalogConnection.isFull((path as NSString).deletingLastPathComponent):
                // SQLite reports ENOSPC on `-shm` or the WAL as a plain I/O error.
                return UnderstudyError(.noSpace, "catalog \(path): file system full (\(db.message ?? "disk I/O error"))", at: .init(path: path))
            case .SQLITE_BUSY, .SQLITE_LOCKED:
                return UnderstudyError(.locked, "catalog \(path) is busy: another process holds it too long", at: .init(path: path))
            default:
                return UnderstudyError(.io, "catalog \(path): \(db.message ?? "\(db.resultCode)")", at: .init(path: path))
            }
        }
        return UnderstudyError(.io, "catalog \(path): \(error)", at: .init(path: path))
    }

    /// Rebuilds the catalog file when at least `freeFraction` of its pages are free (after gc
    /// deleted many rows), so it is no larger than a fresh catalog of the same rows; empties the
    /// WAL either way. Returns the bytes given back. Best effort: needs room for a copy.
    func shrink(freeFraction: Double = 0.25) -> Int64 {
        func size() -> Int64 {
            [path, path + "-wal"].reduce(0) { total, file in
                var st = stat()
                return stat(file, &st) == 0 ? total + Int64(st.st_size) : total
            }
        }
        let before = size()
        do {
            let (free, pages) = try db.read { db in
                (try Int.fetchOne(db, sql: "PRAGMA freelist_count") ?? 0, try Int.fetchOne(db, sql: "PRAGMA page_count") ?? 0)
            }
            if pages > 0, Double(free) >= Double(pages) * freeFraction { try db.vacuum() }
            try db.writeWithoutTransaction { try $0.execute(sql: "PRAGMA wal_checkpoint(TRUNCATE)") }
        } catch {
            return 0
        }
        return max(before - size(), 0)
    }

    func read<T>(_ body: (Database) throws -> T) throws -> T {
        do { return try db.read(body) } catch { throw Self.map(error, path: path) }
    }

    func write<T>(_ body: (Database) throws -> T) throws -> T {
        if let readOnlyReason { throw readOnlyReason.refusal("change catalog \(path)", path: path) }
        do { return try db.write(body) } catch let error as UnderstudyError { throw error } catch { throw Self.map(error, path: path) }
    }

    // MARK: machines

    public func machines() throws -> [Machine] {
        try read { db in
            try Row.fetchAll(db, sql: "SELECT name, blockSize, created FROM machine ORDER BY name").map(Self.machine)
        }
    }

    public func machine(_ name: String) throws -> Machine? {
        try read { db in
            try Row.fetchOne(db, sql: "SELECT name, blockSize, created FROM machine WHERE name = ?", arguments: [name]).map(Self.machine)
        }
    }

    /// The machine, created with `blockSize` if new.
    public func ensureMachine(_ name: String, blockSize: Int) throws -> Machine {
        try write { db in
            try db.execute(sql: "INSERT OR IGNORE INTO machine (name, blockSize, created) VALUES (?, ?, ?)",
                           arguments: [name, blockSize, Date().timeIntervalSince1970])
            return try Row.fetchOne(db, sql: "SELECT name, blockSize, created FROM machine WHERE name = ?", arguments: [name]).map(Self.machine)!
        }
    }

    private static func machine(_ row: Row) -> Machine {
        Machine(name: row["name"], blockSize: row["blockSize"], created: Date(timeIntervalSince1970: row["created"]))
    }

    // MARK: points

    private static let pointColumns = "id, machine, time, diskSize, blockSize, blockCount, indexRoot, indexDepth, parent, source, stats, sectorSize"

    /// The machine's points, oldest first.
    public func points(of machine: String) throws -> [RecoveryPoint] {
        try read { db in
            try Row.fetchAll(db, sql: "SELECT \(Self.pointColumns) FROM point WHERE machine = ? ORDER BY time, id", arguments: [machine])
                .map(Self.point)
        }
    }

    public func allPoints() throws -> [RecoveryPoint] {
        try read { db in
            try Row.fetchAll(db, sql: "SELECT \(Self.pointColumns) FROM point ORDER BY machine, time, id").map(Self.point)
        }
    }

    public func point(_ id: Int64) throws -> RecoveryPoint? {
        try read { db in
            try Row.fetchOne(db, sql: "SELECT \(Self.pointColumns) FROM point WHERE id = ?", arguments: [id]).map(Self.point)
        }
    }

    /// Records a point and the chunks its capture wrote, in one transaction: the commit of a capture.
    /// A machine's first point creates the machine, with the point's block size.
    public func commit(_ point: RecoveryPoint, chunks: [StoredChunk]) throws -> RecoveryPoint {
        return try write { db in
            let stats = String(decoding: try JSONEncoder().encode(point.stats), as: UTF8.self)
            try db.execute(sql: "INSERT OR IGNORE INTO machine (name, blockSize, created) VALUES (?, ?, ?)",
                           arguments: [point.machine, point.blockSize, Date().timeIntervalSince1970])
            try Self.insertChunks(chunks, db)
            try db.execute(sql: """
                INSERT INTO point (machine, time, diskSize, blockSize, blockCount, indexRoot, indexDepth, parent, source, stats, sectorSize)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """, arguments: [point.machine, point.time.timeIntervalSince1970, point.diskSize, point.blockSize,
                                 point.index.blockCount, point.index.root.hex, point.index.depth, point.parent,
                                 point.source, stats, point.sectorSize])
            var saved = point
            saved.id = db.lastInsertedRowID
            return saved
        }
    }

    public func deletePoint(_ id: Int64) throws {
        try write { db in try db.execute(sql: "DELETE FROM point WHERE id = ?", arguments: [id]) }
    }

    private static func point(_ row: Row) throws -> RecoveryPoint {
        let rootHex: String = row["indexRoot"]
        guard let root = ChunkID(hex: rootHex) else {
            throw DatabaseError(resultCode: .SQLITE_CORRUPT, message: "point \(row["id"] as Int64) has an invalid index root")
        }
        let statsText: String = row["stats"]
        let stats = (try? JSONDecoder().decode(CaptureStats.self, from: Data(statsText.utf8))) ?? CaptureStats()
        return RecoveryPoint(
            id: row["id"], machine: row["machine"], time: Date(timeIntervalSince1970: row["time"]),
            diskSize: row["diskSize"], blockSize: row["blockSize"],
            index: BlockIndexRoot(root: root, depth: row["indexDepth"], blockCount: row["blockCount"]),
            parent: row["parent"], source: row["source"], stats: stats, sectorSize: row["sectorSize"])
    }
}
