/// # The Understudy block store
///
/// ## Layout
/// Every path below is named by `StoreLayout`; no module builds one of its own.
/// ```
/// STORE/store.json            format version; a newer one is refused; written last at creation
/// STORE/catalog.sqlite        SQLite (WAL), one file for every module's tables, each under GRDB
///                             migrations of its own prefix (`ModuleTables`):
///                               catalog-   machines, points, chunks, packs        (BlockStore)
///                               standby-   hardware profiles, standbys, boot tests (Standby)
///                               service-   chunk-service tokens (SHA-256 only)      (ChunkService)
///                               schedule-  schedules, job runs                      (Schedule)
///                             created before store.json
/// STORE/packs/N.pack          chunk records (`PackRecord`): a header and the zstd frame of a block
///                             or an index page, named by the SHA-256 of its plaintext; the catalog's
///                             chunk table says where each chunk is. N.pack.tmp: still being written.
///                             Reached only through `PackStorage` (`LocalPackStorage`)
/// STORE/locks/                flock files: machine-<name>.lock (one writer per machine), gc.lock,
///                             scheduler.lock (one `serve` per store)
/// STORE/tmp/                  work files of running operations (a shut-off domain's disk copy)
/// STORE/standby/MACHINE/      a machine's standby (`StandbyPaths` names the files inside): base
///                             image, overlay, serial log, UEFI variables, screenshots/
/// ```
///
/// ## Invariants
/// - A disk is cut into fixed blocks of the machine's block size (a power of two, 64 KiB–4 MiB),
///   aligned to the disk offset; the last block is zero-padded. All-zero blocks are never stored.
/// - A point's block index is a tree of pages stored as chunks (`BlockIndexRoot`); unchanged pages
///   are shared, so a point costs metadata in proportion to what changed.
/// - Chunks are appended to packs of the writer's own (`PackWriter`); a pack is fsynced, then
///   renamed from `.tmp`. Packs are never written into once published: gc punches holes where
///   dead chunks were, and copies the live records of a pack whose leftover space it cannot punch
///   into a new pack before it deletes the old one (`PackCompaction`).
///   Every other file: temp, fsync, rename. (One file per chunk cost 0.2-0.5 ms of file creation
///   per 64 KiB chunk here, more than hashing and compressing it; see docs/decisions.md.)
/// - A point exists once its catalog row is committed, together with the rows of the chunks its
///   capture wrote, which happens only after those packs are durable. A crash before that leaves
///   unreferenced packs, which gc removes.
/// - A pack's catalog row is made before its file, with a number above every pack file present,
///   and the file is created with O_EXCL: no pack is ever written over, even by a catalog put back
///   from an older backup. gc removes a pack file before its row.
/// - A partial store is refused, never completed: packs with no catalog, or a catalog and packs
///   with no store.json, are data whose meaning is missing, not an empty store (`StoreLayout`).
/// - A store that cannot be written (read-only mount, immutable folder, full file system) opens
///   read-only: listing, verify and restore work; changes fail saying why (`CatalogConnection`).
/// - Every read of a chunk verifies its SHA-256; a mismatch is an error naming the chunk, never
///   silently expanded.
///
/// ## Garbage collection
/// Mark every chunk reachable from a catalog point (without locks, while captures run). Then take
/// `gc.lock` exclusively, which waits for running captures (they hold it shared) and keeps new ones
/// waiting; mark the points committed meanwhile; delete the unmarked chunk rows; then sweep: in
/// every pack, punch out every byte no remaining row's record covers (dead records of this gc, of
/// a gc killed before it punched, second copies of a chunk two writers stored), and delete the
/// files, then the rows, of packs with no live record left. Under the exclusive lock no capture can
/// be relying on a chunk it found stored but has not committed yet, and no writer is between its
/// append and its commit, so bytes no row names are dead; a gc killed at any instant leaves only
/// such bytes and rows of empty packs, which the next gc frees. Pack files with no catalog row are
/// not this catalog's (it is older than they are) and are kept. Last, packs whose leftover space
/// (partial blocks at live/dead edges) is more than `--max-unused` of the live bytes are rewritten
/// (`PackCompaction` says why a crash at any instant loses nothing).
///
/// ## Locks and what may run concurrently
/// | operation | takes | runs alongside |
/// |---|---|---|
/// | capture M | `machine-M.lock` exclusive, `gc.lock` shared | captures of other machines, restores, verify, gc's mark phase |
/// | forget M P | `machine-M.lock` exclusive | anything but a capture of M |
/// | gc | `gc.lock` exclusive for the sweep | restores (of points not being forgotten) |
/// | verify --chunks | `gc.lock` shared (none on a read-only store) | captures, restores, gc's mark phase |
/// | restore, list | nothing (SQLite snapshot reads) | everything; a point forgotten and
/// |  |  | collected during its restore fails with a missing-chunk error |
import Foundation
import Core

/// An opened store.
public final class Store: Sendable {
    public static let formatVersion = 1
    public static let defaultPath = "/var/lib/understudy"

    public let path: String
    /// Where everything under `path` lives.
    public let layout: StoreLayout
    public let chunks: ChunkStore
    public let catalog: Catalog

    /// Opens the store at `path`; `create` makes it if absent. A folder that holds part of a
    /// store (packs or a catalog without `store.json`, `store.json` and packs without a catalog) is
    /// refused, never completed or recreated: that would hide, then destroy, what it holds.
    /// A store whose folder or file system cannot be written (read-only media, a full disk) opens
    /// read-only: it lists, verifies and restores, and says why when asked to change.
    /// `storage` makes the pack storage (`LocalPackStorage`, files under `packs/`, unless given).
    public init(path: String, create: Bool, storage: ((StoreLayout) -> any PackStorage)? = nil) throws {
        let absolute = path.hasPrefix("/") ? path : FileManager.default.currentDirectoryPath + "/" + path
        self.path = absolute
        let layout = StoreLayout(root: absolute)
        self.layout = layout
        if !FileSystem.exists(layout.marker) {
            try layout.refuseIfPartial(create: create)
            guard create else {
                throw UnderstudyError(.notFound, "no Understudy store at \(absolute) (create one with `understudy init --store \(path)`)",
                                 at: .init(path: absolute))
            }
            try Self.create(layout)
        }
        try Self.checkFormat(layout.marker)
        try layout.refuseWithoutCatalog()
        catalog = try Catalog(path: layout.catalog, folder: absolute)
        chunks = ChunkStore(storage: storage?(layout) ?? LocalPackStorage(layout: layout), catalog: catalog)
    }

    /// Folders, then the catalog, then `store.json` last: the marker says the store is complete.
    private static func create(_ layout: StoreLayout) throws {
        let path = layout.root
        if !FileSystem.exists(path) {
            do {
                try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
            } catch {
                throw UnderstudyError(.io, "cannot create store folder \(path): \(error.localizedDescription)", at: .init(path: path))
            }
        }
        try FileSystem.makeDirectory(layout.packs)
        try FileSystem.makeDirectory(layout.locks)
        _ = try Catalog(path: layout.catalog, folder: path, create: true)
        let info = "{\"format\": \(formatVersion), \"created\": \"\(ISO8601DateFormatter().string(from: Date()))\"}\n"
        try FileSystem.writeAtomically(Array(info.utf8), to: layout.marker)
    }

    private static func checkFormat(_ marker: String) throws {
        let bytes = try FileSystem.readFile(marker)
        struct Info: Decodable { var format: Int }
        guard let info = try? JSONDecoder().decode(Info.self, from: Data(bytes)) else {
            throw UnderstudyError(.corruptCatalog, "\(marker) is not a valid store description", at: .init(path: marker))
        }
        if info.format > formatVersion {
            throw UnderstudyError(.newerFormat, "store format \(info.format) is newer than this Understudy supports (\(formatVersion)); upgrade Understudy",
                             at: .init(path: marker))
        }
    }

    /// Why this store cannot be changed (read-only media, a full disk), or nil if it can.
    public var readOnlyReason: ReadOnlyReason? { catalog.readOnlyReason }

    /// Throws a clear error if the store cannot be changed; `doing` names the operation.
    public func requireWritable(_ doing: String) throws {
        if let reason = readOnlyReason { throw reason.refusal(doing, path: path) }
    }

    /// The lock a writer of `machine` (capture, forget) holds.
    public func lockMachine(_ machine: String, purpose: String) throws -> StoreLock {
        try Machine.validate(name: machine)
        try requireWritable("\(purpose) \(machine)")
        return try StoreLock(path: layout.machineLock(machine), purpose: "\(purpose) \(machine)")
    }

    /// A writer for new chunks; hold `lockForWriting()` while using it.
    public func packWriter() -> PackWriter {
        PackWriter(chunks: chunks)
    }

    /// The shared side of `gc.lock` every writer holds, so gc's sweep never runs under it.
    /// Waits while a sweep runs (telling `waiting`).
    public func lockForWriting(waiting: () -> Void = {}) throws -> StoreLock {
        try StoreLock(path: layout.gcLock, purpose: "write", shared: true, wait: true, waiting: waiting)
    }

    /// For readers that must not see a sweep (verify): the shared side of `gc.lock`, or nothing on
    /// a store opened read-only, which no process can sweep either.
    func lockAgainstSweep() throws -> StoreLock? {
        readOnlyReason == nil ? try lockForWriting() : nil
    }

    /// A machine that must exist.
    public func machine(_ name: String) throws -> Machine {
        guard let machine = try catalog.machine(name) else {
            throw UnderstudyError(.notFound, "unknown machine '\(name)' (list them with `understudy machines`)", at: .init(machine: name))
        }
        return machine
    }
}
