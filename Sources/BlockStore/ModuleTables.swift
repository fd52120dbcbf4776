public import GRDB
import Core

/// The one migration scheme of the store's catalog. Every module that keeps tables there
/// (`catalog-` for `Catalog` itself, `standby-`, `service-` for tokens, `schedule-`) registers
/// GRDB migrations named with its own prefix; all of them are recorded in the one
/// `grdb_migrations` table. A module refuses the catalog if a newer Understudy applied a migration
/// of its prefix that it does not know, and ignores other modules' migrations.
public enum ModuleTables {
    /// Opens the store's catalog for a module's tables, creating or upgrading them.
    public static func open(store: Store, prefix: String, known: Set<String>, what: String,
                            migrations: (inout DatabaseMigrator) -> Void) throws -> DatabasePool {
        try open(path: store.layout.catalog, readOnlyReason: store.readOnlyReason, prefix: prefix, known: known,
                 what: what, migrations: migrations)
    }

    /// Opens the SQLite file at `path` (a store's catalog, or a database of the module's own in
    /// tests) with a busy timeout, refuses it if a newer Understudy added migrations of `prefix`,
    /// then migrates it; a catalog that cannot be written must already be migrated.
    public static func open(path: String, readOnlyReason: ReadOnlyReason?, prefix: String, known: Set<String>, what: String,
                            migrations: (inout DatabaseMigrator) -> Void) throws -> DatabasePool {
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
            return db
        } catch let error as UnderstudyError {
            throw error
        } catch {
            throw UnderstudyError(.corruptCatalog, "catalog \(path): \(error)", at: .init(path: path))
        }
    }
}
