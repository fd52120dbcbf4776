/// # The Understudy block store
///
/// ## Layout
/// ```
/// STORE/store.json            format version; a newer one is refused
/// STORE/catalog.sqlite        machines and recovery points (SQLite, WAL)
/// STORE/chunks/XYZ/<sha256>   one chunk per file: a zstd frame of a block or an index page,
///                             named by the SHA-256 of its plaintext; XYZ = first 3 hex digits
/// STORE/staging/<machine>/    a running capture's chunks before they are durable
/// STORE/locks/                flock files: machine-<name>.lock (one writer per machine), gc.lock
/// ```
///
/// ## Invariants
/// - A disk is cut into fixed blocks of the machine's block size (a power of two, 64 KiB–4 MiB),
///   aligned to the disk offset; the last block is zero-padded. All-zero blocks are never stored.
/// - A point's block index is a tree of pages stored as chunks (`BlockIndexRoot`); unchanged pages
///   are shared, so a point costs metadata in proportion to what changed.
/// - A file under `chunks/` is always complete: chunks are written to `staging/`, made durable with
///   one `syncfs`, then renamed (`ChunkStager`). Every other file: temp, fsync, rename.
/// - A point exists once its catalog row is committed, which happens only after every chunk it
///   refers to is durable. A crash before that leaves unreferenced chunks, which gc removes.
/// - Every read of a chunk verifies its SHA-256; a mismatch is an error naming the chunk, never
///   silently expanded.
///
/// ## Garbage collection
/// Mark every chunk reachable from a catalog point, then delete unmarked chunk files whose mtime is
/// older than the cutoff: the earlier of gc's start and the start of the oldest running capture.
/// A capture touches (sets the mtime of) every existing chunk it reuses by content, and writes new
/// ones after it started, so nothing a running capture depends on is older than the cutoff. Chunks
/// it reuses from its parent point stay marked: `forget` of a machine's point needs the machine lock.
///
/// ## Locks and what may run concurrently
/// | operation | takes | runs alongside |
/// |---|---|---|
/// | capture M | `machine-M.lock` exclusive | captures of other machines, restores, verify, gc |
/// | forget M P | `machine-M.lock` exclusive | anything but a capture of M |
/// | gc | `gc.lock` exclusive | captures, restores (of points not being forgotten) |
/// | restore, verify, list | nothing (SQLite snapshot reads) | everything; a point forgotten and
/// |  |  | collected during its restore fails with a missing-chunk error |
import Foundation

/// An opened store.
public final class Store: Sendable {
    public static let formatVersion = 1
    public static let defaultPath = "/var/lib/understudy"

    public let path: String
    public let chunks: ChunkStore
    public let catalog: Catalog

    /// Opens the store at `path`; `create` makes it if absent.
    public init(path: String, create: Bool) throws {
        let absolute = path.hasPrefix("/") ? path : FileManager.default.currentDirectoryPath + "/" + path
        self.path = absolute
        let marker = absolute + "/store.json"
        if !FileSystem.exists(marker) {
            guard create else {
                throw StoreError(.notFound, "no Understudy store at \(absolute) (create one with `understudy init --store \(path)`)",
                                 at: .init(path: absolute))
            }
            try Self.create(at: absolute)
        }
        try Self.checkFormat(marker)
        chunks = ChunkStore(root: absolute + "/chunks")
        catalog = try Catalog(path: absolute + "/catalog.sqlite")
    }

    private static func create(at path: String) throws {
        if !FileSystem.exists(path) {
            do {
                try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
            } catch {
                throw StoreError(.io, "cannot create store folder \(path): \(error.localizedDescription)", at: .init(path: path))
            }
        }
        try ChunkStore(root: path + "/chunks").create()
        try FileSystem.makeDirectory(path + "/staging")
        try FileSystem.makeDirectory(path + "/locks")
        let info = "{\"format\": \(formatVersion), \"created\": \"\(ISO8601DateFormatter().string(from: Date()))\"}\n"
        try FileSystem.writeAtomically(Array(info.utf8), to: path + "/store.json")
    }

    private static func checkFormat(_ marker: String) throws {
        let bytes = try FileSystem.readFile(marker)
        struct Info: Decodable { var format: Int }
        guard let info = try? JSONDecoder().decode(Info.self, from: Data(bytes)) else {
            throw StoreError(.corruptCatalog, "\(marker) is not a valid store description", at: .init(path: marker))
        }
        if info.format > formatVersion {
            throw StoreError(.newerFormat, "store format \(info.format) is newer than this Understudy supports (\(formatVersion)); upgrade Understudy",
                             at: .init(path: marker))
        }
    }

    var locksFolder: String { path + "/locks" }

    /// The lock a writer of `machine` (capture, forget) holds.
    public func lockMachine(_ machine: String, purpose: String) throws -> StoreLock {
        try Machine.validate(name: machine)
        return try StoreLock(path: locksFolder + "/machine-\(machine).lock", purpose: "\(purpose) \(machine)")
    }

    /// A stager for `machine`'s new chunks; hold the machine lock while using it.
    public func stager(for machine: String) throws -> ChunkStager {
        try ChunkStager(store: chunks, storeRoot: path, folder: path + "/staging/" + machine)
    }

    /// A machine that must exist.
    public func machine(_ name: String) throws -> Machine {
        guard let machine = try catalog.machine(name) else {
            throw StoreError(.notFound, "unknown machine '\(name)' (list them with `understudy machines`)", at: .init(machine: name))
        }
        return machine
    }
}
