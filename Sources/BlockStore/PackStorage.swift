import Core

/// Where a store keeps its pack records: the byte containers the catalog's chunk rows point
/// into. The catalog decides what a pack holds and which pack numbers exist; a `PackStorage`
/// only creates, reads, frees parts of and deletes them. `LocalPackStorage` (files under
/// `STORE/packs/`) is the one implementation; another backend (object storage) is one new type,
/// and `ChunkStore`, `PackWriter`, gc and verify work with it unchanged.
///
/// Its promises, which every implementation keeps:
/// - a pack is created once and never written over (create-only), written only by the
///   `PackOutput` that created it, and never changed after `publish()`, except that `punch`
///   frees byte ranges no live record covers;
/// - a pack is durable and listed once `publish()` and then `syncPublished()` have returned;
/// - `read` of a pack that is gone throws `.notFound`, so a reader can look its chunk up again
///   (gc rewrote the pack).
public protocol PackStorage: Sendable {
    /// Every pack number present, finished or still being written.
    func packs() throws -> Set<Int64>
    /// Starts pack `number`; fails if it exists in any state.
    func create(_ number: Int64) throws -> any PackOutput
    /// Reads `count` bytes at `offset` of pack `number` into `buffer`; returns how many were read,
    /// fewer only where the pack ends.
    func read(_ number: Int64, at offset: Int64, count: Int, into buffer: UnsafeMutableRawPointer) throws -> Int
    /// Makes every pack published before this call durable in the listing.
    func syncPublished() throws
    /// Frees every byte of pack `number` outside `live` (sorted by start); with `dryRun`, only
    /// says what that would free. Returns the pack's space afterwards.
    func punch(_ number: Int64, keeping live: [PackExtent], dryRun: Bool) throws -> PackSpace
    /// Deletes packs, finished or not (those absent are ignored), durably.
    func delete(_ numbers: [Int64]) throws
    /// How messages name pack `number` (a path, an object's URL).
    func name(of number: Int64) -> String
}

/// A pack being written.
public protocol PackOutput: Sendable {
    var number: Int64 { get }
    /// Writes `bytes` at `offset` (writers append; several threads may write disjoint ranges).
    func write(_ bytes: UnsafeRawBufferPointer, at offset: Int64) throws
    /// Makes the pack durable and visible as finished (see `PackStorage.syncPublished`).
    func publish() throws
}

/// A byte range of a pack: a record's header and frame.
public struct PackExtent: Sendable, Equatable {
    public var start: Int64
    public var end: Int64
    public init(start: Int64, end: Int64) {
        self.start = start
        self.end = end
    }
}

/// What a pack takes, as gc reports it.
public struct PackSpace: Sendable {
    /// Bytes freed (or, in a dry run, that would be).
    public var punched: Int64
    /// Bytes the pack takes in storage now.
    public var allocated: Int64
    /// The least it can take without being rewritten (what its live records need).
    public var minimum: Int64
    /// The unit space is freed in: a pack whose unused space is below it gains nothing from a rewrite.
    public var unit: Int64

    public init(punched: Int64, allocated: Int64, minimum: Int64, unit: Int64) {
        self.punched = punched
        self.allocated = allocated
        self.minimum = minimum
        self.unit = unit
    }
}
