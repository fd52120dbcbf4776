public import BlockStore
import Dispatch
import Foundation
import Zstd
public import Core
public import ChunkFormat

/// Reads a point's blocks through a `ChunkReader` on every core (fetch, expand, verify) and
/// hands them to a consumer one at a time in block order. While the consumer works on one batch
/// the workers already decode the next, so a sequential format writer keeps both cores busy.
/// Memory: two batches of blocks (and their frames).
public final class BlockFeeder: @unchecked Sendable {
    public typealias Item = (block: Int, id: ChunkID)
    public typealias Consumer = (_ block: Int, _ data: UnsafeRawBufferPointer, _ frame: UnsafeRawBufferPointer?) throws -> Void
    /// Called for a block whose chunk is bad instead of throwing (restore --ignore-errors).
    public typealias BadBlockHandler = (_ block: Int, _ id: ChunkID, _ error: UnderstudyError) throws -> Void

    private final class Batch: @unchecked Sendable {
        var items: [Item] = []
        var buffers: [AlignedBuffer]
        var frames: [[UInt8]]
        var errors: [UnderstudyError?]
        init(count: Int, blockSize: Int) {
            buffers = (0..<count).map { _ in AlignedBuffer(count: blockSize) }
            frames = Array(repeating: [], count: count)
            errors = Array(repeating: nil, count: count)
        }
    }

    private final class Worker: @unchecked Sendable {
        let decompressor = Decompressor()
    }

    let chunks: any ChunkReader
    let blockSize: Int
    let diskSize: Int64
    let keepFrames: Bool
    let batchSize: Int
    private let workers = (0..<Parallel.workers).map { _ in Worker() }

    public init(chunks: any ChunkReader, blockSize: Int, diskSize: Int64, keepFrames: Bool, batchSize: Int = 256) {
        self.chunks = chunks
        self.blockSize = blockSize
        self.diskSize = diskSize
        self.keepFrames = keepFrames
        self.batchSize = batchSize
    }

    /// Feeds every item `next` produces (in increasing block order, up to `max` per call, empty
    /// when done) to `consume`. `data` is the block cut to the disk's end.
    public func run(next: (_ max: Int) throws -> [Item], onBadBlock: BadBlockHandler? = nil, consume: Consumer) throws {
        var current = Batch(count: batchSize, blockSize: blockSize)
        var spare = Batch(count: batchSize, blockSize: blockSize)
        current.items = try next(batchSize)
        try decode(current)
        while !current.items.isEmpty {
            spare.items = try next(batchSize)
            let group = DispatchGroup()
            let failure = Locked<(any Error)?>(nil)
            if !spare.items.isEmpty {
                let batch = spare
                DispatchQueue.global().async(group: group) { [self] in
                    do { try decode(batch) } catch { failure.set(error) }
                }
            }
            defer { group.wait() }
            for (slot, item) in current.items.enumerated() {
                let offset = Int64(item.block) * Int64(blockSize)
                if let error = current.errors[slot] {
                    let precise = error.adding(.init(block: item.block, offset: offset, chunk: item.id.hex))
                    guard let onBadBlock else { throw precise }
                    try onBadBlock(item.block, item.id, precise)
                    continue
                }
                let length = Int(min(Int64(blockSize), diskSize - offset))
                let data = UnsafeRawBufferPointer(current.buffers[slot].slice(0, length))
                if keepFrames {
                    try current.frames[slot].withUnsafeBytes { try consume(item.block, data, $0) }
                } else {
                    try consume(item.block, data, nil)
                }
            }
            group.wait()
            if let error = failure.get() { throw error }
            swap(&current, &spare)
        }
    }

    private func decode(_ batch: Batch) throws {
        try chunks.prefetch(batch.items.map(\.id))
        try Parallel.forEach(batch.items.count, workers: workers.count) { (w, slot) in
            let id = batch.items[slot].id
            batch.errors[slot] = nil
            do {
                let frame = try chunks.storedBytes(of: id)
                try ChunkFrame.expand(frame, id: id, into: batch.buffers[slot].bytes, using: workers[w].decompressor)
                batch.frames[slot] = keepFrames ? frame : []
            } catch {
                batch.errors[slot] = error.located(.init(chunk: id.hex))
            }
        }
    }

    /// A producer over a whole point: its non-zero blocks in order.
    public static func dataBlocks(of point: RecoveryPoint, chunks: any ChunkReader) -> (Int) throws -> [Item] {
        let reader = BlockIndexReader(point.index, chunks: chunks)
        var block = 0
        return { max in
            var out: [Item] = []
            while block < point.blockCount && out.count < max {
                let id = try reader.entry(block)
                if !id.isZero { out.append((block, id)) }
                block += 1
            }
            return out
        }
    }
}
