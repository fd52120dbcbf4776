import Foundation
import Core
import ChunkFormat

/// What `gc` did.
public struct GCReport: Codable, Sendable {
    /// gc's default for `maxUnused`: 0.5 % of the live bytes, half of what a store may exceed a
    /// fresh store holding the same points by (issue #8: 1 %), leaving room for the extent-tree
    /// and last-block slack a fresh store also has.
    public static let defaultMaxUnused = 0.005
    public var points = 0
    public var referencedChunks = 0
    public var removedChunks = 0
    public var removedBytes: Int64 = 0
    /// Pack files deleted: emptied by this gc, or left by failed writers.
    public var removedPacks = 0
    /// Bytes punched out of packs that keep live records (freeable, in a dry run): the dead
    /// records of this gc and whatever else no catalog row names (records of an interrupted gc,
    /// chunks two concurrent writers both stored).
    public var punchedBytes: Int64 = 0
    /// Pack files the catalog has no row for: the catalog is older than the packs (put back from
    /// a backup), so gc keeps them untouched.
    public var unknownPacks: [Int64] = []
    /// Space the swept packs take on disk afterwards (allocated blocks, as `du` counts them), and
    /// the least they can take without rewriting them: the blocks their live records touch. A
    /// store a killed gc left behind is back at the minimum after the next gc.
    public var packBytes: Int64 = 0
    public var minimumPackBytes: Int64 = 0
    /// Packs rewritten because of space punching cannot free (the partial blocks where dead
    /// records met live ones; `PackCompaction`), the live bytes copied, and the new packs.
    public var compactedPacks = 0
    public var compactedBytes: Int64 = 0
    public var newPacks = 0
    /// Bytes the catalog file gave back (rebuilt once a quarter of it was free pages).
    public var catalogBytesFreed: Int64 = 0
    /// Packs a rewrite left alone because a live record in them is damaged, and why.
    public var damagedPacks: [String] = []
    public var seconds: Double = 0
}

extension Store {
    /// Mark and sweep; see the module doc for why it is safe while captures run.
    /// With `wait` false it refuses while a capture runs instead of waiting for it. Packs are then
    /// rewritten until the space no live record needs is at most `maxUnused` of what they need.
    public func collectGarbage(dryRun: Bool = false, wait: Bool = true, maxUnused: Double = GCReport.defaultMaxUnused,
                               waiting: () -> Void = {}) throws -> GCReport {
        if !dryRun { try requireWritable("collect garbage") }
        let started = Date()
        var report = GCReport()
        var marked = Set<ChunkID>()
        var markedPoints = Set<Int64>()
        try mark(&marked, &markedPoints)  // the long part, while captures go on
        // A dry run of a read-only store needs no lock: nothing there can change.
        let lock = readOnlyReason != nil ? nil
            : try StoreLock(path: layout.gcLock, purpose: "collect garbage", wait: wait, waiting: waiting)
        defer { withExtendedLifetime(lock) {} }
        try mark(&marked, &markedPoints)  // points committed meanwhile
        report.points = markedPoints.count
        report.referencedChunks = marked.count

        var dead: [(ChunkID, ChunkLocation)] = []
        var live: [Int64: [(id: ChunkID, location: ChunkLocation)]] = [:]
        try chunks.forEachChunk { id, location in
            if marked.contains(id) {
                live[location.pack, default: []].append((id, location))
            } else {
                dead.append((id, location))
            }
        }
        report.removedChunks = dead.count
        report.removedBytes = dead.reduce(0) { $0 + Int64($1.1.length + PackRecord.headerSize) }
        // A pack file gets its row before it is created, and gc deletes a row only after the
        // file: a file without a row is not this catalog's (one put back from an older backup).
        let rows = try catalog.packIDs()
        let files = try chunks.storage.packs()
        report.unknownPacks = files.subtracting(rows).sorted()
        if !dryRun {
            // Rows first: a crash after this leaves only bytes no row names, which the sweep below
            // (this gc's or the next one's) frees; never a row pointing into a hole.
            try catalog.deleteChunks(dead.map(\.0))
        }
        var candidates: [PackCompaction.Candidate] = []
        var blockSize: Int64 = 4096
        for pack in live.keys.sorted() where files.contains(pack) {
            let extents = live[pack]!.map { Self.extent($0.location) }
            let usage = try chunks.storage.punch(pack, keeping: extents, dryRun: dryRun)
            report.punchedBytes += usage.punched
            report.packBytes += usage.allocated
            report.minimumPackBytes += usage.minimum
            blockSize = usage.unit
            candidates.append(.init(pack: pack, live: live[pack]!, allocated: usage.allocated - (dryRun ? usage.punched : 0),
                                    minimum: usage.minimum, liveBytes: extents.reduce(0) { $0 + $1.end - $1.start }))
        }
        let compact = PackCompaction.select(candidates, maxUnused: maxUnused, blockSize: blockSize)
        if dryRun {
            report.compactedPacks = compact.count
            report.compactedBytes = compact.reduce(0) { $0 + $1.liveBytes }
        } else if !compact.isEmpty {
            let outcome = try PackCompaction(chunks: chunks, catalog: catalog).rewrite(compact)
            report.compactedPacks = outcome.packs.count
            report.compactedBytes = outcome.copiedBytes
            report.newPacks = outcome.newPacks.count
            report.damagedPacks = outcome.damaged
            for old in compact where outcome.packs.contains(old.pack) {
                report.packBytes -= old.allocated
                report.minimumPackBytes -= old.minimum
            }
            for pack in outcome.newPacks {
                let space = try chunks.storage.punch(pack.number, keeping: [PackExtent(start: 0, end: pack.bytes)], dryRun: true)
                report.packBytes += space.allocated
                report.minimumPackBytes += space.minimum
            }
        }
        // Packs with no live record: emptied now or by an interrupted gc, or left by failed
        // writers. Files first, then rows, so an interrupted gc leaves rows the next one finds.
        let empty = rows.filter { live[$0] == nil }.sorted()
        report.removedPacks = empty.filter(files.contains).count
        if !dryRun {
            try chunks.storage.delete(empty)
            try catalog.deletePacks(empty)
            report.catalogBytesFreed = catalog.shrink()
        }
        report.seconds = Date().timeIntervalSince(started)
        return report
    }

    private static func extent(_ location: ChunkLocation) -> PackExtent {
        PackExtent(start: location.offset - Int64(PackRecord.headerSize), end: location.offset + Int64(location.length))
    }

    /// Adds every chunk of every point not yet in `points` to `marked`. Never sweep after a partial
    /// mark: a damaged index would make gc delete live data.
    private func mark(_ marked: inout Set<ChunkID>, _ points: inout Set<Int64>) throws {
        for point in try catalog.allPoints() where !points.contains(point.id!) {
            do {
                try BlockIndexReader.walk(point.index, chunks: chunks, page: { id, _, _ in
                    marked.insert(id).inserted
                }, entry: { id, _ in
                    if !id.isZero { marked.insert(id) }
                })
            } catch {
                let base = error.located(.init(machine: point.machine, point: point.id))
                throw UnderstudyError(base.code, "gc stopped, nothing deleted: \(base.message) (run `understudy verify --chunks`)", at: base.location)
            }
            points.insert(point.id!)
        }
    }

    /// Deletes one point from the catalog; its chunks go at the next gc.
    public func forget(machine: String, point id: Int64) throws -> RecoveryPoint {
        let lock = try lockMachine(machine, purpose: "forget a point of")
        defer { withExtendedLifetime(lock) {} }
        _ = try self.machine(machine)
        guard let point = try catalog.point(id), point.machine == machine else {
            throw UnderstudyError(.notFound, "machine '\(machine)' has no point \(id) (list them with `understudy points \(machine)`)",
                             at: .init(machine: machine, point: id))
        }
        try catalog.deletePoint(id)
        return point
    }
}
