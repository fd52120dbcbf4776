public import BlockStore
public import Foundation
import Zstd

/// What a restore did.
public struct RestoreReport: Codable, Sendable {
    public struct BadBlock: Codable, Sendable {
        public var block: Int
        public var offset: Int64
        public var chunk: ChunkID
        public var error: String
    }
    public var machine: String
    public var point: Int64
    public var target: String
    public var diskSize: Int64
    public var dataBlocks = 0
    public var zeroBlocks = 0
    /// Blocks filled with zeros because their chunk was bad (only with `ignoreErrors`).
    public var badBlocks: [BadBlock] = []
    public var seconds: Double = 0
}

/// Per-thread state: zstd context and one block of plaintext.
final class RestoreWorker: @unchecked Sendable {
    let decompressor = Decompressor()
    let block: AlignedBuffer
    init(blockSize: Int) { block = AlignedBuffer(count: blockSize) }
}

/// Writes a point as a raw disk: the reference writer every format is compared with.
public enum RawRestore {
    public struct Options: Sendable {
        /// Replace an existing file, or overwrite a device that holds data.
        public var force = false
        /// Fill blocks whose chunk is corrupt or missing with zeros and list them, instead of failing.
        public var ignoreErrors = false
        public var batchBlocks = 256
        public init() {}
    }

    public static func restore(store: Store, point: RecoveryPoint, to path: String, options: Options = Options(),
                               progress: any ProgressReporter = SilentProgress()) throws -> RestoreReport {
        let started = Date()
        let location = StoreError.Location(machine: point.machine, point: point.id)
        let target = try RestoreTarget(path: path, diskSize: point.diskSize, force: options.force)
        var report = RestoreReport(machine: point.machine, point: point.id ?? 0, target: path, diskSize: point.diskSize)
        let index = BlockIndexReader(point.index, chunks: store.chunks)
        let blockSize = point.blockSize
        let workers = (0..<Parallel.workers).map { _ in RestoreWorker(blockSize: blockSize) }
        let bad = BadBlockList()
        var entries = [ChunkID](repeating: .zero, count: options.batchBlocks)
        progress.start(phase: "restore", total: point.diskSize)
        do {
            var first = 0
            while first < point.blockCount {
                let count = min(options.batchBlocks, point.blockCount - first)
                var zeroRun: (start: Int64, length: Int64)?
                for i in 0..<count {
                    entries[i] = try index.entry(first + i)
                    let (offset, length) = extent(of: first + i, blockSize: blockSize, diskSize: point.diskSize)
                    if entries[i].isZero {
                        report.zeroBlocks += 1
                        if let run = zeroRun, run.start + run.length == offset {
                            zeroRun = (run.start, run.length + Int64(length))
                        } else {
                            if let run = zeroRun { try target.zero(offset: run.start, length: run.length) }
                            zeroRun = (offset, Int64(length))
                        }
                    } else {
                        report.dataBlocks += 1
                    }
                }
                if let run = zeroRun { try target.zero(offset: run.start, length: run.length) }
                try store.chunks.prefetch(Array(entries[0..<count]))
                try Parallel.forEach(count) { (w, i) throws in
                    let id = entries[i]
                    guard !id.isZero else { return }
                    let block = first + i
                    let (offset, length) = extent(of: block, blockSize: blockSize, diskSize: point.diskSize)
                    let worker = workers[w]
                    do {
                        try store.chunks.read(id, into: worker.block.bytes, using: worker.decompressor)
                    } catch {
                        let precise = error.located(.init(machine: point.machine, point: point.id, block: block, offset: offset, chunk: id))
                        guard options.ignoreErrors else { throw precise }
                        bad.append(.init(block: block, offset: offset, chunk: id, error: precise.description))
                        try target.zero(offset: offset, length: Int64(length))
                        return
                    }
                    try target.file.write(UnsafeRawBufferPointer(worker.block.slice(0, length)), at: offset)
                }
                first += count
                progress.update(done: min(point.diskSize, Int64(first) * Int64(blockSize)))
            }
            try target.publish()
        } catch {
            throw error.located(location)
        }
        progress.finish()
        report.badBlocks = bad.sorted
        report.seconds = Date().timeIntervalSince(started)
        return report
    }

    /// The byte range of a block within the disk (the last block may be short).
    static func extent(of block: Int, blockSize: Int, diskSize: Int64) -> (offset: Int64, length: Int) {
        let offset = Int64(block) * Int64(blockSize)
        return (offset, Int(min(Int64(blockSize), diskSize - offset)))
    }
}
