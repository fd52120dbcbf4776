import CLinux
import Foundation

/// What `gc` did.
public struct GCReport: Codable, Sendable {
    public var points = 0
    public var referencedChunks = 0
    public var removedChunks = 0
    public var removedBytes: Int64 = 0
    /// Pack files deleted: emptied by this gc, or left by failed writers.
    public var removedPacks = 0
    public var seconds: Double = 0
}

extension Store {
    /// Mark and sweep; see the module doc for why it is safe while captures run.
    /// With `wait` false it refuses while a capture runs instead of waiting for it.
    public func collectGarbage(dryRun: Bool = false, wait: Bool = true, waiting: () -> Void = {}) throws -> GCReport {
        let started = Date()
        var report = GCReport()
        var marked = Set<ChunkID>()
        var markedPoints = Set<Int64>()
        try mark(&marked, &markedPoints)  // the long part, while captures go on
        let lock = try StoreLock(path: locksFolder + "/gc.lock", purpose: "collect garbage (a capture is running; retry later)",
                                 wait: wait, waiting: waiting)
        defer { withExtendedLifetime(lock) {} }
        try mark(&marked, &markedPoints)  // points committed meanwhile
        report.points = markedPoints.count
        report.referencedChunks = marked.count

        var dead: [(ChunkID, ChunkLocation)] = []
        try chunks.forEachChunk { id, location in
            if !marked.contains(id) { dead.append((id, location)) }
        }
        report.removedChunks = dead.count
        report.removedBytes = dead.reduce(0) { $0 + Int64($1.1.length + PackFormat.headerSize) }
        if dryRun {
            report.seconds = Date().timeIntervalSince(started)
            return report
        }
        // Rows first: a crash after this leaves only unreachable bytes, never a row to a hole.
        let emptied = Set(try catalog.deleteChunks(dead.map(\.0), packsToCheck: Set(dead.map(\.1.pack))))
        for (id, location) in dead where !emptied.contains(location.pack) {
            try punch(location, of: id)
        }
        let failed = try catalog.deleteEmptyPacks()
        for pack in emptied.union(failed) {
            unlink(chunks.path(ofPack: pack))
            unlink(chunks.tempPath(ofPack: pack))
        }
        report.removedPacks = emptied.count + failed.count + removeStrayPackFiles()
        report.seconds = Date().timeIntervalSince(started)
        return report
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
                throw StoreError(base.code, "gc stopped, nothing deleted: \(base.message) (run `understudy verify --chunks`)", at: base.location)
            }
            points.insert(point.id!)
        }
    }

    /// Frees a dead record's space without moving anything else in its pack.
    private func punch(_ location: ChunkLocation, of id: ChunkID) throws {
        let path = chunks.path(ofPack: location.pack)
        let file = try FileDescriptor(path: path, flags: O_WRONLY)
        let start = location.offset - Int64(PackFormat.headerSize)
        if clinux_punch_hole(file.fd, start, Int64(location.length + PackFormat.headerSize)) != 0, errno != EOPNOTSUPP {
            throw StoreError.errno("punching chunk \(id.hex) out of", path: path)
        }
    }

    /// Pack files with no catalog row: a writer died between creating the file and its row.
    private func removeStrayPackFiles() -> Int {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: chunks.root),
              let known = try? Set(catalog.packIDs()) else { return 0 }
        var removed = 0
        for name in names {
            let number = name.split(separator: ".").first.flatMap { Int64($0) }
            if let number, !known.contains(number) {
                unlink(chunks.root + "/" + name)
                removed += 1
            }
        }
        return removed
    }

    /// Deletes one point from the catalog; its chunks go at the next gc.
    public func forget(machine: String, point id: Int64) throws -> RecoveryPoint {
        let lock = try lockMachine(machine, purpose: "forget a point of")
        defer { withExtendedLifetime(lock) {} }
        _ = try self.machine(machine)
        guard let point = try catalog.point(id), point.machine == machine else {
            throw StoreError(.notFound, "machine '\(machine)' has no point \(id) (list them with `understudy points \(machine)`)",
                             at: .init(machine: machine, point: id))
        }
        try catalog.deletePoint(id)
        return point
    }
}
