public import BlockStore
import Foundation
public import Core
import ChunkFormat

/// How to capture.
public struct CaptureOptions: Sendable {
    public static let defaultBlockSize = 64 << 10
    public static let defaultCompressionLevel: Int32 = 3
    /// For a new machine; an existing machine keeps its own.
    public var blockSize: Int?
    public var compressionLevel: Int32 = CaptureOptions.defaultCompressionLevel
    /// Accept a source smaller than the previous point.
    public var allowShrink = false
    /// Bytes read and processed per round.
    public var batchBytes = 16 << 20

    public init() {}

    public static func validate(blockSize: Int) throws {
        guard blockSize >= 64 << 10, blockSize <= 4 << 20, blockSize & (blockSize - 1) == 0 else {
            throw UnderstudyError(.invalidArgument, "block size \(blockSize) is not a power of two from 64 KiB to 4 MiB")
        }
    }
}

/// Per-thread state: the record builder (zstd context and buffer).
final class CaptureWorker: @unchecked Sendable {
    let builder: PackRecordBuilder

    init(level: Int32, blockSize: Int) {
        builder = PackRecordBuilder(level: level, maxPlainLength: max(blockSize, BlockIndexRoot.pageBytes))
    }

    /// Frames and appends one claimed chunk; returns its stored (frame) size.
    func store(_ id: ChunkID, plaintext: UnsafeRawBufferPointer, writer: PackWriter) throws -> Int {
        let record = try builder.record(id, plaintext: plaintext)
        try writer.append(id, record: record, plainLength: plaintext.count)
        return record.count - PackRecord.headerSize
    }
}

/// Reads a source disk and records it as a new recovery point of a machine.
///
/// Each round reads `batchBytes`, then on every core hashes each block (zero blocks skip the
/// hash), compares it with the parent point's entry, and compresses and stages only chunks the
/// store does not hold yet. Memory is bounded by the batch and one output buffer per core.
public enum Capturer {
    public static func capture(store: Store, machine name: String, source: SourceDisk, options: CaptureOptions = CaptureOptions(),
                               progress: any ProgressReporter = SilentProgress()) throws -> RecoveryPoint {
        let lock = try store.lockMachine(name, purpose: "capture")
        let writing = try store.lockForWriting { progress.note("waiting for a running gc to finish") }
        defer { withExtendedLifetime((lock, writing)) {} }
        let started = Date()
        if let blockSize = options.blockSize { try CaptureOptions.validate(blockSize: blockSize) }
        // A new machine is recorded by the commit of its first point, so a failed first capture
        // leaves no machine without points behind.
        let known = try store.catalog.machine(name)
        if let known, let wanted = options.blockSize, wanted != known.blockSize {
            throw UnderstudyError(.invalidArgument, "machine \(name) uses block size \(known.blockSize); it cannot change to \(wanted)",
                             at: .init(machine: name))
        }
        let blockSize = known?.blockSize ?? options.blockSize ?? CaptureOptions.defaultBlockSize
        let parent = try store.catalog.points(of: name).last { $0.blockSize == blockSize }
        if let parent, source.size < parent.diskSize, !options.allowShrink {
            throw UnderstudyError(.sourceShrank, "source \(source.path) holds \(source.size) bytes but point \(parent.id!) of \(name) held \(parent.diskSize): the disk shrank (wrong source?); pass --allow-shrink if that is intended",
                             at: .init(machine: name, point: parent.id, path: source.path))
        }

        let writer = store.packWriter()
        do {
            var point = try run(store: store, machine: name, source: source, blockSize: blockSize, parent: parent,
                                writer: writer, options: options, progress: progress)
            point.time = started
            let written = try writer.finish()
            point.stats.seconds = Date().timeIntervalSince(started)
            return try store.catalog.commit(point, chunks: written)
        } catch {
            writer.abandon()
            throw error.located(.init(machine: name))
        }
    }

    private static func run(store: Store, machine: String, source: SourceDisk, blockSize: Int, parent: RecoveryPoint?,
                            writer: PackWriter, options: CaptureOptions, progress: any ProgressReporter) throws -> RecoveryPoint {
        let blockCount = Int((source.size + Int64(blockSize) - 1) / Int64(blockSize))
        let blocksPerBatch = max(1, options.batchBytes / blockSize)
        let buffer = AlignedBuffer(count: blocksPerBatch * blockSize)
        let workers = (0..<Parallel.workers).map { _ in CaptureWorker(level: options.compressionLevel, blockSize: blockSize) }
        let parentIndex = parent.map { BlockIndexReader($0.index, chunks: store.chunks) }
        var stats = CaptureStats()
        var ids = [ChunkID](repeating: .zero, count: blocksPerBatch)
        var claimed = [Bool](repeating: false, count: blocksPerBatch)
        let storedBytes = AtomicCounter()

        let builder = BlockIndexBuilder(blockCount: blockCount) { (page) throws -> ChunkID in
            let id = ChunkID.hash(page)
            try writer.lookUp([id])
            if writer.claim(id) {
                let size = try workers[0].store(id, plaintext: page, writer: writer)
                stats.indexPages += 1
                stats.newChunks += 1
                stats.newBytes += Int64(page.count)
                storedBytes.add(size)
            }
            return id
        }

        progress.start(phase: "capture", total: source.size)
        var first = 0
        while first < blockCount {
            let count = min(blocksPerBatch, blockCount - first)
            let offset = Int64(first) * Int64(blockSize)
            let bytes = Int(min(Int64(count * blockSize), source.size - offset))
            try source.read(into: buffer.pointer, count: bytes, at: offset)
            if bytes < count * blockSize {  // the disk's last block is zero-padded
                memset(buffer.pointer + bytes, 0, count * blockSize - bytes)
            }
            let next = offset + Int64(bytes)
            if next < source.size { source.prefetch(min(options.batchBytes, Int(source.size - next)), at: next) }

            // Hash on every core; zero blocks need no hash.
            try ids.withUnsafeMutableBufferPointer { (idsOut) throws in
                nonisolated(unsafe) let idsOut = idsOut
                try Parallel.forEach(count) { (_, i) throws in
                    let block = UnsafeRawBufferPointer(buffer.slice(i * blockSize, blockSize))
                    idsOut[i] = isAllZero(block) ? .zero : ChunkID.hash(block)
                }
            }
            // Decide in block order what is new; each new chunk is claimed once.
            var previousIDs = [ChunkID?](repeating: nil, count: count)
            for i in 0..<count {
                previousIDs[i] = try parentIndex.flatMap { (reader) throws -> ChunkID? in
                    first + i < reader.index.blockCount ? try reader.entry(first + i) : nil
                }
            }
            try writer.lookUp((0..<count).compactMap { i in ids[i].isZero || ids[i] == previousIDs[i] ? nil : ids[i] })
            for i in 0..<count {
                let id = ids[i]
                claimed[i] = false
                let previous = previousIDs[i]
                if id.isZero {
                    stats.zeroBlocks += 1
                    if previous != nil && previous != .zero { stats.changedBlocks += 1 }
                    continue
                }
                stats.dataBlocks += 1
                if id == previous { stats.dedupBlocks += 1; continue }
                stats.changedBlocks += 1
                if writer.claim(id) { claimed[i] = true } else { stats.dedupBlocks += 1 }
            }
            let newBlocks = claimed[0..<count].filter { $0 }.count
            stats.newChunks += newBlocks
            stats.newBytes += Int64(newBlocks * blockSize)
            // Compress and stage the new ones on every core.
            try Parallel.forEach(count) { (worker, i) throws in
                guard claimed[i] else { return }
                let block = UnsafeRawBufferPointer(buffer.slice(i * blockSize, blockSize))
                storedBytes.add(try workers[worker].store(ids[i], plaintext: block, writer: writer))
            }
            for i in 0..<count { try builder.append(ids[i]) }
            writer.rollIfFull()
            first += count
            progress.update(done: next)
        }
        let index = try builder.finish()
        progress.finish()
        stats.storedBytes = storedBytes.value
        return RecoveryPoint(machine: machine, time: Date(), diskSize: source.size, blockSize: blockSize, index: index,
                             parent: parent?.id, source: source.path, stats: stats, sectorSize: source.sectorSize)
    }
}
