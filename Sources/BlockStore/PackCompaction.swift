import Foundation
import Zstd
import Core
import ChunkFormat

/// Rewrites packs whose unused space gc cannot punch out, so a store returns to the size a fresh
/// store holding the same points needs.
///
/// Punching frees only whole file-system blocks: where a dead record meets a live one, the
/// partial block stays allocated. After many gcs (or gcs killed midway) those edges add up; the
/// fix is the one restic's `prune --max-unused` and borg's `compact --threshold` use: copy the live
/// records of the most wasteful packs into new packs and delete the old ones, until what no live
/// record needs is at most `maxUnused` of what the live records take.
///
/// Crash safety, with gc's exclusive lock held (no writer runs):
/// 1. the new pack gets its catalog row, is written and published (for files: `N.pack.tmp`,
///    fdatasync'ed, renamed, the folder synced) — a crash here leaves a pack with no chunk row, which the next gc deletes;
/// 2. one transaction moves the rows of every copied chunk (only if each row still names the old
///    record) — a crash after it leaves old packs with no chunk row, which the next gc deletes;
/// 3. the old files, then their rows, are deleted.
/// Every copied record is checked first (header, frame, SHA-256): a damaged record is never copied;
/// its pack is left as it is and named in the report, for `verify --chunks` to explain.
///
/// Readers (restores, the chunk service) run alongside: one that looked a chunk up before step 2
/// and opens the old pack after step 3 finds it gone and looks the chunk up again
/// (`ChunkStore.readStored`); one that had the old pack open reads the old, still intact, record.
struct PackCompaction {
    /// A pack that keeps live records after the sweep.
    struct Candidate {
        var pack: Int64
        var live: [(id: ChunkID, location: ChunkLocation)]
        /// Bytes on disk after the sweep, the blocks its live records touch, and the bytes of
        /// those records (headers and frames).
        var allocated: Int64
        var minimum: Int64
        var liveBytes: Int64
        var unused: Int64 { max(allocated - liveBytes, 0) }
    }

    /// The packs to rewrite: the most wasteful (unused per byte to copy) first, until what is left
    /// unused in the packs kept is at most `maxUnused` × the live bytes of all packs. A pack whose
    /// unused space is below one block gains nothing from a rewrite and is never chosen.
    static func select(_ candidates: [Candidate], maxUnused: Double, blockSize: Int64) -> [Candidate] {
        let allowed = Int64(Double(candidates.reduce(0) { $0 + $1.liveBytes }) * max(maxUnused, 0))
        var unused = candidates.reduce(0) { $0 + $1.unused }
        var chosen: [Candidate] = []
        let order = candidates.filter { $0.unused >= blockSize }
            .sorted { Double($0.unused) / Double(max($0.allocated, 1)) > Double($1.unused) / Double(max($1.allocated, 1)) }
        for candidate in order where unused > allowed {
            chosen.append(candidate)
            unused -= candidate.unused
        }
        return chosen
    }

    /// What a rewrite did.
    struct Outcome {
        var packs: [Int64] = []
        /// The new packs and their sizes.
        var newPacks: [(number: Int64, bytes: Int64)] = []
        var copiedBytes: Int64 = 0
        /// Packs left alone because a live record in them is damaged.
        var damaged: [String] = []
    }

    let chunks: ChunkStore
    let catalog: Catalog

    /// A new pack being filled: its number, file, and the rows to move once it is durable.
    private struct Output {
        var pack: any PackOutput
        var size: Int64 = 0
        var moves: [(id: ChunkID, from: ChunkLocation, to: ChunkLocation)] = []
        var sources: [Int64] = []
    }

    /// Rewrites `selected` into new packs of about `PackFormat.targetPackBytes` each. Each old
    /// pack's records are read and checked (at most one pack in memory), then appended.
    func rewrite(_ selected: [Candidate]) throws -> Outcome {
        var outcome = Outcome()
        var output: Output?
        let decompressor = Decompressor()
        do {
            for candidate in selected {
                let records: [[UInt8]]
                do {
                    records = try candidate.live.map { try checkedRecord($0.id, $0.location, decompressor) }
                } catch {
                    outcome.damaged.append("pack \(candidate.pack) kept: \(error)")
                    continue
                }
                if output == nil { output = try open() }
                for (record, (id, location)) in zip(records, candidate.live) {
                    try record.withUnsafeBytes { try output!.pack.write($0, at: output!.size) }
                    let to = ChunkLocation(pack: output!.pack.number, offset: output!.size + Int64(PackRecord.headerSize),
                                           length: location.length, plainLength: location.plainLength)
                    output!.moves.append((id, location, to))
                    output!.size += Int64(record.count)
                }
                output!.sources.append(candidate.pack)
                if output!.size >= PackFormat.targetPackBytes {
                    try publish(output!, into: &outcome)
                    output = nil
                }
            }
            if let last = output { try publish(last, into: &outcome) }
        } catch {
            if let output { try? chunks.storage.delete([output.pack.number]) }
            throw error
        }
        return outcome
    }

    /// Step 1's start: a catalog row, then the pack (create-only, as every pack).
    private func open() throws -> Output {
        Output(pack: try chunks.storage.create(try chunks.newPack()))
    }

    /// The whole record of a live chunk, after checking its header and content.
    private func checkedRecord(_ id: ChunkID, _ location: ChunkLocation, _ decompressor: Decompressor) throws -> [UInt8] {
        let record = try chunks.storedRecord(at: location, id: id)
        if let problem = PackFormat.headerProblem(record[0..<PackRecord.headerSize], id: id, location: location) {
            throw UnderstudyError(.corruptChunk, problem, at: .init(chunk: id.hex, path: chunks.storage.name(of: location.pack)))
        }
        var plain = [UInt8](repeating: 0, count: location.plainLength)
        try record.withUnsafeBytes { raw in
            try plain.withUnsafeMutableBytes {
                try ChunkFrame.expand(UnsafeRawBufferPointer(rebasing: raw[PackRecord.headerSize...]), id: id, into: $0, using: decompressor)
            }
        }
        return record
    }

    /// Steps 1 (the rest), 2 and 3 for a filled new pack.
    private func publish(_ output: Output, into outcome: inout Outcome) throws {
        try output.pack.publish()
        try chunks.storage.syncPublished()
        try catalog.moveChunks(output.moves)
        try chunks.storage.delete(output.sources)
        try catalog.deletePacks(output.sources)
        outcome.packs += output.sources
        outcome.newPacks.append((output.pack.number, output.size))
        outcome.copiedBytes += output.size
    }
}
