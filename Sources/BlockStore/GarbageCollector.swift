import Foundation

/// What `gc` did.
public struct GCReport: Codable, Sendable {
    public var points = 0
    public var referencedChunks = 0
    public var removedChunks = 0
    public var removedBytes: Int64 = 0
    /// Unreferenced chunks kept because a running capture may be about to refer to them.
    public var keptRecent = 0
    public var staleStagingFolders = 0
    public var seconds: Double = 0
}

extension Store {
    /// Mark and sweep (see the module doc for why it is safe while captures run).
    public func collectGarbage(dryRun: Bool = false) throws -> GCReport {
        let lock = try StoreLock(path: locksFolder + "/gc.lock", purpose: "collect garbage")
        defer { withExtendedLifetime(lock) {} }
        let started = Date()
        // The cutoff is taken before marking: a point committed after this moment was written by a
        // capture running now, whose chunks are all newer than its start.
        let writers = StoreLock.heldStartTimes(in: locksFolder, prefix: "machine-")
        let cutoff = (writers + [started]).min()!.addingTimeInterval(-2)
        var report = GCReport()
        var marked = Set<ChunkID>()
        let points = try catalog.allPoints()
        report.points = points.count
        for point in points {
            do {
                try BlockIndexReader.walk(point.index, chunks: chunks, page: { id, _, _ in
                    marked.insert(id).inserted
                }, entry: { id, _ in
                    if !id.isZero { marked.insert(id) }
                })
            } catch {
                // Never sweep on a partial mark: a damaged index would make gc delete live data.
                let base = (error as? StoreError) ?? StoreError(.io, "\(error)")
                throw StoreError(base.code, "gc stopped, nothing deleted: \(base.message) (run `understudy verify --chunks`)",
                                 at: base.location).adding(.init(machine: point.machine, point: point.id))
            }
        }
        report.referencedChunks = marked.count
        let cutoffSpec = timespec(tv_sec: Int(cutoff.timeIntervalSince1970), tv_nsec: 0)
        do {
            try chunks.forEachChunk { id, modified in
                guard !marked.contains(id) else { return }
                guard modified.tv_sec < cutoffSpec.tv_sec else { report.keptRecent += 1; return }
                report.removedBytes += Int64(chunks.storedSize(of: id) ?? 0)
                report.removedChunks += 1
                if !dryRun { try chunks.remove(id) }
            }
        } catch let error as StoreError {
            throw error
        } catch {
            throw StoreError(.io, "gc: \(error)")
        }
        report.staleStagingFolders = removeStaleStaging(dryRun: dryRun)
        report.seconds = Date().timeIntervalSince(started)
        return report
    }

    /// Staging folders of machines with no running capture hold only a crashed capture's leftovers.
    private func removeStaleStaging(dryRun: Bool) -> Int {
        let staging = path + "/staging"
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: staging) else { return 0 }
        var removed = 0
        for name in names {
            guard let lock = try? StoreLock(path: locksFolder + "/machine-\(name).lock", purpose: "clean staging of") else { continue }
            if !dryRun { FileSystem.removeTree(staging + "/" + name) }
            removed += 1
            withExtendedLifetime(lock) {}
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
