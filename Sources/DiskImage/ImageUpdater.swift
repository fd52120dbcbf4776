public import BlockStore
import Foundation
public import Core

/// Brings an image Understudy built at point A to point B in place, rewriting only the blocks
/// whose entries differ between A's and B's indexes, under an undo journal (`JournaledFile`):
/// a crash at any moment leaves an image that `recover` turns back into exactly A (or, if B
/// was already recorded, exactly B).
public enum ImageUpdater {
    /// Finishes or rolls back an interrupted update of `path`; returns what it did, or nil.
    @discardableResult
    public static func recover(_ path: String) throws -> String? {
        guard FileSystem.exists(JournaledFile.journalPath(of: path)) else { return nil }
        let target = JournaledFile.pendingTarget(of: path)
        if var record = ImageRecord.load(for: path) {
            if record.point == target, (try? ImageRecord.fingerprint(of: path)) == record.fingerprint {
                try JournaledFile.removeJournal(of: path)
                return "\(path): interrupted update to point \(record.point) had completed; journal removed"
            }
            try JournaledFile.rollBack(path)
            record.fingerprint = try ImageRecord.fingerprint(of: path)
            try record.save(for: path)
            return "\(path): interrupted update rolled back; the image holds point \(record.point) again"
        }
        try JournaledFile.rollBack(path)
        return "\(path): interrupted update rolled back"
    }

    /// Updates the image at `path` to `point`, or rebuilds it (aside, renamed) when an in-place
    /// update is impossible: another disk size, a variant that cannot be updated, A forgotten.
    /// Refuses an image whose record is missing or that changed since Understudy wrote it,
    /// unless `forceFull`.
    public static func update(store: Store, point: RecoveryPoint, at path: String, options: ImageBuilder.Options,
                              forceFull: Bool = false, progress: any ProgressReporter = SilentProgress()) throws -> RestoreReport {
        // An image keeps its own kind (compressed, OVA) unless --force-full says otherwise.
        var options = options
        if let existing = ImageRecord.load(for: path), !forceFull {
            options.compress = options.compress || existing.compressed
            options.ova = options.ova || (existing.ova ?? false)
        }
        var full = options
        full.force = true
        if forceFull { return try ImageBuilder.build(store: store, point: point, to: path, options: full, progress: progress) }
        if let message = try recover(path) { progress.note(message) }
        guard FileSystem.exists(path) else {
            throw UnderstudyError(.notFound, "\(path) does not exist; build it without --update first", at: .init(path: path))
        }
        guard let record = ImageRecord.load(for: path) else {
            throw UnderstudyError(.conflict, "\(path) has no Understudy record (\(ImageRecord.path(of: path))): it was not built by Understudy; pass --force-full to rebuild it",
                             at: .init(path: path))
        }
        guard record.machine == point.machine else {
            throw UnderstudyError(.conflict, "\(path) holds machine \(record.machine), not \(point.machine); pass --force-full to rebuild it for \(point.machine)",
                             at: .init(machine: point.machine, path: path))
        }
        let format = options.format
        guard record.format == format.name else {
            throw UnderstudyError(.conflict, "\(path) is a \(record.format) image, not \(format.name); pass --force-full to rebuild it as \(format.name)",
                             at: .init(path: path))
        }
        let variant = try FormatRegistry.variant(options.variant ?? record.variant, of: format)
        guard try ImageRecord.fingerprint(of: path) == record.fingerprint else {
            throw UnderstudyError(.conflict, "\(path) was modified outside Understudy since it was built (booted read-write or edited); pass --force-full to rebuild it",
                             at: .init(path: path))
        }
        var report = RestoreReport(machine: point.machine, point: point.id ?? 0, target: path, format: format.name,
                                   variant: variant, mode: .update, fromPoint: record.point, diskSize: point.diskSize)
        if record.point == point.id {
            report.mode = .unchanged
            return report
        }
        func rebuild(_ why: String) throws -> RestoreReport {
            var rebuilt = try ImageBuilder.build(store: store, point: point, to: path, options: full, progress: progress)
            rebuilt.note = why
            return rebuilt
        }
        guard variant == record.variant, options.compress == record.compressed else {
            return try rebuild("options differ from the image's (\(record.variant)\(record.compressed ? ", compressed" : ""))")
        }
        guard let old = try store.catalog.point(record.point), old.blockSize == point.blockSize else {
            return try rebuild("point \(record.point) it held is no longer in the store")
        }
        guard old.diskSize == point.diskSize else { return try rebuild("the disk size changed") }

        let started = Date()
        let file = try JournaledFile(path: path, targetPoint: point.id ?? 0)
        do {
            let imageOptions = ImageBuilder.imageOptions(options, variant: variant, point: point)
            guard let sink = try format.openForUpdate(file, options: imageOptions) else {
                try JournaledFile.removeJournal(of: path)
                return try rebuild("\(format.name) \(variant) cannot be updated in place")
            }
            // Sound tables are not enough: a header now describing a disk of another size would
            // have the update leave an image that reads as neither point.
            let built = format.virtualSize(diskSize: old.diskSize, variant: variant)
            let shown = try format.info(file).virtualSize
            guard shown == built else {
                throw ImageDamage.refuseUpdate(file, problems: ["its header describes a \(shown)-byte disk, but it was built for \(built) bytes"])
            }
            var changed: [BlockFeeder.Item] = []
            var zeroed: [Int] = []
            try BlockIndexReader.diff(old.index, point.index, chunks: store.chunks) { block, id in
                if id.isZero { zeroed.append(block) } else { changed.append((block, id)) }
            }
            if !options.trustImage {
                let rewritten = Set(zeroed).union(changed.map(\.0))
                let wrong = try HeldPointCheck.mismatches(in: sink, holding: old, chunks: store.chunks, skipping: rewritten, progress: progress)
                if !wrong.isEmpty {
                    throw ImageDamage.refuseUpdate(file, problems: wrong + ["its guest data was changed outside Understudy or has decayed (pass --trust-image to update it anyway)"])
                }
            }
            let blockSize = Int64(point.blockSize)
            for block in zeroed {
                let offset = Int64(block) * blockSize
                try sink.zero(offset: offset, length: min(blockSize, point.diskSize - offset))
            }
            progress.start(phase: "update", total: Int64(changed.count) * blockSize)
            var next = changed[...]
            var done: Int64 = 0
            let feeder = BlockFeeder(chunks: store.chunks, blockSize: point.blockSize, diskSize: point.diskSize, keepFrames: sink.wantsFrames)
            try feeder.run(next: { max in
                let batch = Array(next.prefix(max))
                next = next.dropFirst(batch.count)
                return batch
            }) { block, data, frame in
                try sink.write(offset: Int64(block) * blockSize, data: data, frame: frame)
                done += blockSize
                progress.update(done: done)
            }
            try sink.finish()
            progress.finish()
            try file.syncImage()
            var updated = try ImageBuilder.record(point, format: format, variant: variant, compressed: options.compress, ova: options.ova, image: path)
            if options.trustImage { updated.verified = record.verified }  // unchecked blocks: the old date stands
            try updated.save(for: path)
            try file.finishCommit()
            report.changedBlocks = changed.count + zeroed.count
            report.dataBlocks = changed.count
            report.zeroBlocks = zeroed.count
            report.bytesWritten = file.bytesWritten
        } catch {
            _ = try? recover(path)
            throw error.located(.init(machine: point.machine, point: point.id, path: path))
        }
        report.seconds = Date().timeIntervalSince(started)
        return report
    }
}
