/// # The Understudy block store
///
/// ## Layout
/// ```
/// STORE/store.json            format version; a newer one is refused
/// STORE/catalog.sqlite        machines and recovery points (SQLite, WAL)
/// STORE/packs/N.pack          chunk records (`PackFormat`): a header and the zstd frame of a block
///                             or an index page, named by the SHA-256 of its plaintext; the catalog's
///                             chunk table says where each chunk is. N.pack.tmp: still being written
/// STORE/locks/                flock files: machine-<name>.lock (one writer per machine), gc.lock
/// ```
///
/// ## Invariants
/// - A disk is cut into fixed blocks of the machine's block size (a power of two, 64 KiB–4 MiB),
///   aligned to the disk offset; the last block is zero-padded. All-zero blocks are never stored.
/// - A point's block index is a tree of pages stored as chunks (`BlockIndexRoot`); unchanged pages
///   are shared, so a point costs metadata in proportion to what changed.
/// - Chunks are appended to packs of the writer's own (`PackWriter`); a pack is fsynced, then
///   renamed from `.tmp`. Packs are never rewritten: gc punches holes where dead chunks were.
///   Every other file: temp, fsync, rename. (One file per chunk cost 0.2-0.5 ms of file creation
///   per 64 KiB chunk here, more than hashing and compressing it; see docs/decisions.md.)
/// - A point exists once its catalog row is committed, together with the rows of the chunks its
///   capture wrote, which happens only after those packs are durable. A crash before that leaves
///   unreferenced packs, which gc removes.
/// - Every read of a chunk verifies its SHA-256; a mismatch is an error naming the chunk, never
///   silently expanded.
///
/// ## Garbage collection
/// Mark every chunk reachable from a catalog point (without locks, while captures run). Then take
/// `gc.lock` exclusively, which waits for running captures (they hold it shared) and keeps new ones
/// waiting; mark the points committed meanwhile; delete the unmarked chunk rows; punch their
/// records out of their packs; delete packs left empty and packs of failed writers. Under the
/// exclusive lock no capture can be relying on a chunk it found stored but has not committed yet.
///
/// ## Locks and what may run concurrently
/// | operation | takes | runs alongside |
/// |---|---|---|
/// | capture M | `machine-M.lock` exclusive, `gc.lock` shared | captures of other machines, restores, verify, gc's mark phase |
/// | forget M P | `machine-M.lock` exclusive | anything but a capture of M |
/// | gc | `gc.lock` exclusive for the sweep | restores (of points not being forgotten) |
/// | verify --chunks | `gc.lock` shared | captures, restores, gc's mark phase |
/// | restore, list | nothing (SQLite snapshot reads) | everything; a point forgotten and
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
        catalog = try Catalog(path: absolute + "/catalog.sqlite")
        chunks = ChunkStore(root: absolute + "/packs", catalog: catalog)
    }

    private static func create(at path: String) throws {
        if !FileSystem.exists(path) {
            do {
                try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
            } catch {
                throw StoreError(.io, "cannot create store folder \(path): \(error.localizedDescription)", at: .init(path: path))
            }
        }
        try FileSystem.makeDirectory(path + "/packs")
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

    /// A writer for new chunks; hold `lockForWriting()` while using it.
    public func packWriter() -> PackWriter {
        PackWriter(chunks: chunks)
    }

    /// The shared side of `gc.lock` every writer holds, so gc's sweep never runs under it.
    /// Waits while a sweep runs (telling `waiting`).
    public func lockForWriting(waiting: () -> Void = {}) throws -> StoreLock {
        try StoreLock(path: locksFolder + "/gc.lock", purpose: "write", shared: true, wait: true, waiting: waiting)
    }

    /// A machine that must exist.
    public func machine(_ name: String) throws -> Machine {
        guard let machine = try catalog.machine(name) else {
            throw StoreError(.notFound, "unknown machine '\(name)' (list them with `understudy machines`)", at: .init(machine: name))
        }
        return machine
    }
}
