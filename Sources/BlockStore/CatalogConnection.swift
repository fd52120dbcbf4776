import Foundation
internal import GRDB
import Synchronization
public import Core

/// Opens the catalog's SQLite file: read-write when the store can be changed, read-only when it
/// cannot (read-only media, an immutable folder, a full file system).
///
/// A WAL database needs its `-shm` file even to be read, and SQLite must create or grow it: on a
/// read-only mount that fails with "unable to open database file", on a full disk with
/// "disk I/O error". Reading does not need it when nothing else can write: with no `-wal` file (or
/// an empty one) the main file holds every committed transaction, and SQLite's `immutable=1`
/// reads it without `-shm` or locks. With a non-empty `-wal` (a writer that died, a replica copied
/// while open) its transactions are recovered in a private copy under a temporary folder.
enum CatalogConnection {
    /// Why the store at `folder` cannot be written before anything is tried: a read-only mount,
    /// a folder that is immutable or not ours to write.
    static func readOnlyReason(folder: String) -> ReadOnlyReason? {
        var fs = statvfs()
        if statvfs(folder, &fs) == 0, fs.f_flag & UInt(ST_RDONLY) != 0 {
            return ReadOnlyReason(code: .unsupported, text: "read-only file system")
        }
        if access(folder, W_OK) != 0 {
            let code = errno
            return ReadOnlyReason(code: .unsupported, text: code == EPERM ? "the folder is immutable"
                                  : "the folder cannot be written: \(String(cString: strerror(code)))")
        }
        return nil
    }

    /// Why opening the catalog for writing failed with `failure`, if reading can still work.
    static func fallbackReason(folder: String, failure: any Error) -> ReadOnlyReason? {
        if let reason = readOnlyReason(folder: folder) { return reason }
        if isFull(folder) { return ReadOnlyReason(code: .noSpace, text: "file system full") }
        if let db = failure as? DatabaseError, db.resultCode == .SQLITE_READONLY || db.resultCode == .SQLITE_CANTOPEN {
            return ReadOnlyReason(code: .unsupported, text: "the catalog file cannot be written")
        }
        return nil
    }

    /// True if the file system holding `folder` has less room than SQLite's `-shm` file needs.
    static func isFull(_ folder: String) -> Bool {
        var fs = statvfs()
        return statvfs(folder, &fs) == 0 && UInt64(fs.f_bavail) * UInt64(fs.f_frsize) < 256 << 10
    }

    static func writable(_ path: String) throws -> DatabasePool {
        var config = Configuration()
        config.busyMode = .timeout(60)
        config.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = FULL")
        }
        return try DatabasePool(path: path, configuration: config)
    }

    /// A read-only view of the catalog that writes nothing beside it.
    static func readOnly(_ path: String) throws -> DatabasePool {
        var config = Configuration()
        config.readonly = true
        var st = stat()
        let wal = path + "-wal"
        if stat(wal, &st) != 0 || st.st_size == 0 {
            return try DatabasePool(path: immutableURI(path), configuration: config)
        }
        let copy = try privateCopy(path)
        return try DatabasePool(path: immutableURI(copy), configuration: config)
    }

    private static func immutableURI(_ path: String) -> String {
        var allowed = CharacterSet.urlPathAllowed
        allowed.remove(charactersIn: "?#%")
        return "file:" + (path.addingPercentEncoding(withAllowedCharacters: allowed) ?? path) + "?immutable=1"
    }

    /// Copies the catalog and its WAL into a temporary folder, recovers the WAL there and folds it
    /// into the copy (removed when the process exits).
    private static func privateCopy(_ path: String) throws -> String {
        var failures: [String] = []
        for base in [NSTemporaryDirectory(), "/dev/shm", "/var/tmp"] {
            let folder = (base as NSString).appendingPathComponent("understudy-catalog-\(getpid())-\(UUID().uuidString.prefix(8))")
            let copy = folder + "/catalog.sqlite"
            do {
                try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
                TemporaryFolders.removeAtExit(folder)
                try FileManager.default.copyItem(atPath: path, toPath: copy)
                try FileManager.default.copyItem(atPath: path + "-wal", toPath: copy + "-wal")
                let queue = try DatabaseQueue(path: copy)
                try queue.writeWithoutTransaction { db in
                    try db.execute(sql: "PRAGMA wal_checkpoint(TRUNCATE)")
                    try db.execute(sql: "PRAGMA journal_mode = DELETE")
                }
                try queue.close()
                return copy
            } catch {
                FileSystem.removeTree(folder)
                failures.append("\(base): \(error)")
            }
        }
        throw UnderstudyError(.noSpace, "catalog \(path) has changes in its -wal file that can only be read from a writable copy, and no temporary folder took one (\(failures.joined(separator: "; ")))",
                         at: .init(path: path))
    }
}

/// Why a store opened read-only cannot be changed.
public struct ReadOnlyReason: Sendable, CustomStringConvertible {
    /// `.noSpace` for a full file system, `.unsupported` for read-only media.
    public var code: UnderstudyError.Code
    public var text: String
    public var description: String { text }

    /// The error for an attempt to change the store at `path` (`doing` names it).
    func refusal(_ doing: String, path: String) -> UnderstudyError {
        let why = code == .noSpace ? "file system full at \(path)" : "the store at \(path) is read-only here (\(text))"
        return UnderstudyError(code, "cannot \(doing): \(why); it can still be listed, verified and restored from", at: .init(path: path))
    }
}

/// Temporary folders removed when the process exits normally.
enum TemporaryFolders {
    private static let folders = Mutex<[String]>([])
    private static let registered = Mutex(false)

    static func removeAtExit(_ folder: String) {
        folders.withLock { $0.append(folder) }
        let first = registered.withLock { done in defer { done = true }; return !done }
        if first {
            atexit {
                for folder in TemporaryFolders.folders.withLock({ $0 }) { FileSystem.removeTree(folder) }
            }
        }
    }
}
