public import BlockStore
import Foundation
public import Core

/// Writes recovery points as disk images: full builds (aside, then renamed into place; raw may
/// also go to a block device) and in-place incremental updates under an undo journal.
public enum ImageBuilder {
    public struct Options: Sendable {
        public var format: any DiskImageFormat.Type = RawFormat.self
        public var variant: String?
        public var compress = false
        public var ova = false
        /// Replace an existing file, or overwrite a device that holds data.
        public var force = false
        /// Fill blocks whose chunk is corrupt or missing with zeros and list them, instead of failing.
        public var ignoreErrors = false
        /// Update in place without first checking that the blocks the update keeps still hold
        /// the image's recorded point (`HeldPointCheck`): faster, for images nothing but
        /// Understudy can have touched.
        public var trustImage = false
        public init() {}
    }

    /// Writes `point` as a new image at `path`.
    public static func build(store: Store, point: RecoveryPoint, to path: String, options: Options,
                             progress: any ProgressReporter = SilentProgress()) throws -> RestoreReport {
        let started = Date()
        let format = options.format
        let variant = try FormatRegistry.variant(options.variant, of: format)
        let limit = format.maxDiskSize(variant: variant)
        guard point.diskSize <= limit else {
            throw UnderstudyError(.unsupported, "a \(formatBytes(point.diskSize)) disk does not fit in \(format.name) \(variant) (at most \(formatBytes(limit)))")
        }
        let target = try RestoreTarget(path: path, diskSize: point.diskSize, force: options.force)
        guard !target.isDevice || format == RawFormat.self else {
            throw UnderstudyError(.unsupported, "\(path) is a block device: only raw restores go to devices", at: .init(path: path))
        }
        var report = RestoreReport(machine: point.machine, point: point.id ?? 0, target: path, format: format.name,
                                   variant: variant, diskSize: point.diskSize)
        do {
            let file = try PlainImageFile(target.file)
            let sink: any BlockSink = target.isDevice
                ? RawSink(file: file)
                : try format.create(file, diskSize: point.diskSize, options: imageOptions(options, variant: variant, point: point))
            let bad = try feed(store: store, point: point, to: sink, device: target, options: options, report: &report, progress: progress)
            try sink.finish()
            report.badBlocks = bad
            report.bytesWritten = file.size
            try target.publish {
                if !target.isDevice {
                    try record(point, format: format, variant: variant, compressed: options.compress, ova: options.ova, image: target.writingPath)
                        .save(for: path)
                }
            }
        } catch {
            throw error.located(.init(machine: point.machine, point: point.id))
        }
        report.seconds = Date().timeIntervalSince(started)
        return report
    }

    static func imageOptions(_ options: Options, variant: String, point: RecoveryPoint) -> ImageOptions {
        var out = ImageOptions(blockSize: point.blockSize)
        out.variant = variant
        out.compress = options.compress
        out.ova = options.ova
        out.machine = point.machine
        out.logicalSectorSize = point.sectorSize
        return out
    }

    static func record(_ point: RecoveryPoint, format: any DiskImageFormat.Type, variant: String, compressed: Bool, ova: Bool,
                       image: String) throws -> ImageRecord {
        ImageRecord(format: format.name, variant: variant, compressed: compressed, ova: ova, machine: point.machine, point: point.id ?? 0,
                    pointTime: point.time, diskSize: point.diskSize, blockSize: point.blockSize, built: Date(),
                    fingerprint: try ImageRecord.fingerprint(of: image), verified: Date())
    }

    /// Streams every data block of the point into the sink; on a device also zeroes the gaps.
    private static func feed(store: Store, point: RecoveryPoint, to sink: any BlockSink, device: RestoreTarget,
                             options: Options, report: inout RestoreReport,
                             progress: any ProgressReporter) throws -> [RestoreReport.BadBlock] {
        let blockSize = Int64(point.blockSize)
        let feeder = BlockFeeder(chunks: store.chunks, blockSize: point.blockSize, diskSize: point.diskSize, keepFrames: sink.wantsFrames)
        var bad: [RestoreReport.BadBlock] = []
        var end: Int64 = 0  // where the last data block ended: a device gets the gap zeroed
        var dataBlocks = 0
        progress.start(phase: "restore", total: point.diskSize)
        try feeder.run(next: BlockFeeder.dataBlocks(of: point, chunks: store.chunks), onBadBlock: options.ignoreErrors ? { block, id, error in
            let offset = Int64(block) * blockSize
            bad.append(.init(block: block, offset: offset, chunk: id, error: error.description))
            if device.isDevice {
                try device.zero(offset: end, length: min(offset + blockSize, point.diskSize) - end)
                end = min(offset + blockSize, point.diskSize)
            }
        } : nil) { block, data, frame in
            let offset = Int64(block) * blockSize
            if device.isDevice && offset > end { try device.zero(offset: end, length: offset - end) }
            try sink.write(offset: offset, data: data, frame: frame)
            end = offset + Int64(data.count)
            dataBlocks += 1
            progress.update(done: end)
        }
        if device.isDevice && end < point.diskSize { try device.zero(offset: end, length: point.diskSize - end) }
        progress.finish()
        report.dataBlocks = dataBlocks + bad.count
        report.zeroBlocks = point.blockCount - report.dataBlocks
        return bad
    }
}
