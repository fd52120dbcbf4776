public import GRDB
import Core

/// Tables a module keeps in the store's catalog (standby, tokens, ...), under migrations of its
/// own prefix (`standby-v1`, `service-v1`): opened with a busy timeout, refused if a newer
/// Understudy added migrations of that prefix, then migrated.
public enum ModuleTables {
    public static func open(store: Store, prefix: String, known: Set<String>, what: String,
                            migrations: (inout DatabaseMigrator) -> Void) throws -> DatabasePool {
        let path = store.path + "/catalog.sqlite"
        do {
            let db = store.readOnlyReason == nil ? try CatalogConnection.writable(path) : try CatalogConnection.readOnly(path)
            if try Catalog.hasNewerMigrations(db, prefix: prefix, known: known) {
                throw UnderstudyError(.newerFormat, "the \(what) of \(path) were written by a newer Understudy; upgrade", at: .init(path: path))
            }
            var migrator = DatabaseMigrator()
            migrations(&migrator)
            if let reason = store.readOnlyReason {
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
