import Dispatch
import Foundation
import Synchronization
import Core
public import ChunkFormat

/// Writes one writer's (a capture's) new chunks into pack files of its own.
///
/// Records are appended from any thread; a full pack is published (made durable: for files,
/// `fdatasync` and a rename from `N.pack.tmp` to `N.pack`) on a background thread while the
/// capture goes on.
/// Nothing refers to a chunk until `finish()` has synced every pack and the writer's commit has
/// recorded the chunk rows with the point, so a crash at any moment leaves only unreferenced
/// packs, which gc removes.
public final class PackWriter: Sendable {
    private let chunks: ChunkStore
    private struct Current {
        var output: any PackOutput
        var size: Int64
    }
    private struct State {
        var current: Current?
        var packs: [Int64] = []
        var written: [StoredChunk] = []
        /// Chunks this writer wrote or found stored: each is written once.
        var known: Set<ChunkID> = []
    }
    private let state = Mutex(State())
    private let syncing = DispatchGroup()
    private let syncError = Mutex<UnderstudyError?>(nil)

    init(chunks: ChunkStore) {
        self.chunks = chunks
    }

    /// Looks `ids` up in the store (one query) and remembers those found.
    public func lookUp(_ ids: [ChunkID]) throws {
        let unknown = state.withLock { s in ids.filter { !s.known.contains($0) } }
        guard !unknown.isEmpty else { return }
        let found = try chunks.locations(of: unknown)
        state.withLock { s in for id in found.keys { s.known.insert(id) } }
    }

    /// Claims the right to write `id` (after `lookUp`): true for exactly one caller, false if the
    /// chunk is stored or already claimed.
    public func claim(_ id: ChunkID) -> Bool {
        state.withLock { $0.known.insert(id).inserted }
    }

    /// Appends a claimed chunk: `record` is its whole pack record (`PackRecordBuilder`).
    public func append(_ id: ChunkID, record: UnsafeRawBufferPointer, plainLength: Int) throws {
        let frameLength = record.count - PackRecord.headerSize
        let (output, offset) = try reserve(record.count)
        try output.write(record, at: offset)
        let pack = output.number
        let location = ChunkLocation(pack: pack, offset: offset + Int64(PackRecord.headerSize), length: frameLength, plainLength: plainLength)
        state.withLock { $0.written.append(StoredChunk(id: id, location: location)) }
    }

    /// Takes the next `bytes` of the current pack, opening a new pack if there is none.
    private func reserve(_ bytes: Int) throws -> (any PackOutput, Int64) {
        let chunks = self.chunks
        return try state.withLock { s throws -> (any PackOutput, Int64) in
            if s.current == nil {
                let pack = try chunks.newPack()
                s.packs.append(pack)
                s.current = Current(output: try chunks.storage.create(pack), size: 0)
            }
            let c = s.current!
            s.current!.size += Int64(bytes)
            return (c.output, c.size)
        }
    }

    /// Between batches (no append in flight): starts a new pack once the current one is full.
    public func rollIfFull() {
        let full = state.withLock { s -> Current? in
            guard let c = s.current, c.size >= PackFormat.targetPackBytes else { return nil }
            s.current = nil
            return c
        }
        if let full { seal(full) }
    }

    /// Syncs and publishes a pack in the background.
    private func seal(_ pack: Current) {
        DispatchQueue.global().async(group: syncing) { [self] in
            do {
                try pack.output.publish()
            } catch {
                syncError.withLock { if $0 == nil { $0 = error.located(.init()) } }
            }
        }
    }

    /// Makes every pack durable and published; returns the chunks to record at the commit.
    public func finish() throws -> [StoredChunk] {
        if let last = state.withLock({ s -> Current? in defer { s.current = nil }; return s.current }) { seal(last) }
        syncing.wait()
        if let error = syncError.withLock({ $0 }) { throw error }
        try chunks.storage.syncPublished()
        return state.withLock { $0.written }
    }

    /// Removes this writer's packs after a failure (nothing refers to them).
    public func abandon() {
        state.withLock { $0.current = nil }
        syncing.wait()
        try? chunks.storage.delete(state.withLock { $0.packs })
    }
}
