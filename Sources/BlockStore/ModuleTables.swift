public import GRDB
import Foundation
import Core

/// The one migration scheme of the store's catalog. Every module that keeps tables there
/// (`catalog-` for `Catalog` itself, `standby-`, `service-` for tokens, `schedule-`) registers
/// GRDB migrations named with its own prefix; all of them are recorded in the one
/// `grdb_migrations` table. A module refuses the catalog if a newer Understudy applied a migration
/// of its prefix that it does not know, and ignores other modules' migrations.
public enum ModuleTables {
    /// Opens the store's catalog for a module's tables, creating or upgrading them.
    public static func open(store: Store, prefix: String, known: Set<String>, what: String,
                            migrations: (inout DatabaseMigrator) -> Void) throws -> ModuleDatabase {
        try open(path: store.layout.catalog, readOnlyReason: store.readOnlyReason, prefix: prefix, known: known,
                 what: what, migrations: migrations)
    }

    /// Opens the SQLite file at `path` (a store's catalog, or a database of the module's own in
    /// tests) with a busy timeout, refuses it if a newer Understudy added migrations of `prefix`,
    /// then migrates it; a catalog that cannot be written must already be migrated.
    public static func open(path: String, readOnlyReason: ReadOnlyReason?, prefix: String, known: Set<String>, what: String,
                            migrations: (inout DatabaseMigrator) -> Void) throws -> ModuleDatabase {
        do {
            let db = readOnlyReason == nil ? try CatalogConnection.writable(path) : try CatalogConnection.readOnly(path)
            if try Catalog.hasNewerMigrations(db, prefix: prefix, known: known) {
                throw UnderstudyError(.newerFormat, "the \(what) of \(path) were written by a newer Understudy; upgrade", at: .init(path: path))
            }
            var migrator = DatabaseMigrator()
            migrations(&migrator)
            if let reason = readOnlyReason {
                // Tables a module never created here read as empty only after their migration: refuse instead.
                guard try db.read({ try migrator.hasCompletedMigrations($0) }) else {
                    throw UnderstudyError(reason.code, "the \(what) of \(path) must be created or upgraded, which cannot be done here (\(reason))",
                                     at: .init(path: path))
                }
            } else {
                try migrator.migrate(db)
            }
            return ModuleDatabase(path: path, pool: db, what: what, readOnlyReason: readOnlyReason)
        } catch let error as UnderstudyError {
            throw error
        } catch {
            throw UnderstudyError(.corruptCatalog, "catalog \(path): \(error)", at: .init(path: path))
        }
    }
}

/// A module's tables in the catalog: reads and writes whose SQLite failures are named as
/// `Catalog` names its own (damaged, file system full — also when SQLite says only "disk I/O
/// error" —, busy), so every module's messages say the same thing about the same file. On a
/// store opened read-only (read-only media, a full disk) a write is refused saying why, as the
/// store's own changes are.
public final class ModuleDatabase: Sendable {
    public let path: String
    private let pool: DatabasePool
    private let what: String
    private let readOnlyReason: ReadOnlyReason?

    init(path: String, pool: DatabasePool, what: String, readOnlyReason: ReadOnlyReason?) {
        self.path = path
        self.pool = pool
        self.what = what
        self.readOnlyReason = readOnlyReason
    }

    public func read<T>(_ body: (Database) throws -> T) throws -> T {
        do { return try pool.read(body) } catch let error as UnderstudyError { throw error } catch { throw Catalog.map(error, path: path) }
    }

    public func write<T>(_ body: (Database) throws -> T) throws -> T {
        if let readOnlyReason {
            throw readOnlyReason.refusal("change the \(what)", path: (path as NSString).deletingLastPathComponent)
        }
        do { return try pool.write(body) } catch let error as UnderstudyError { throw error } catch { throw Catalog.map(error, path: path) }
    }
}
