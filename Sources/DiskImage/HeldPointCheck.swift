import BlockStore
import Core
import ChunkFormat

/// Before an in-place update trusts an image, it checks that every block it will not rewrite
/// still holds what the recorded point wrote there. Every block's chunk id is the SHA-256 of its
/// bytes, so the check is a read and a hash per block, with no store reads: an image whose guest
/// data was changed behind Understudy's back (bit rot, a standby booted read-write and its
/// timestamps put back) is refused, never carried into the next point.
enum HeldPointCheck {
    /// The first few blocks of `point` (other than those in `skipping`) that `sink` does not read
    /// back as, each described; empty if every one matches.
    static func mismatches(in sink: any BlockSink, holding point: RecoveryPoint, chunks: ChunkStore,
                           skipping rewritten: Set<Int>, progress: any ProgressReporter, limit: Int = 3) throws -> [String] {
        let blockSize = point.blockSize
        let blocks = Int((point.diskSize + Int64(blockSize) - 1) / Int64(blockSize))
        var buffer = [UInt8](repeating: 0, count: blockSize)
        var found: [String] = []
        var next = 0
        var done: Int64 = 0
        progress.start(phase: "check", total: point.diskSize)
        func check(_ block: Int, _ id: ChunkID) throws {
            guard found.count < limit, !rewritten.contains(block) else { return }
            let offset = Int64(block) * Int64(blockSize)
            let length = Int(min(Int64(blockSize), point.diskSize - offset))
            do {
                try buffer.withUnsafeMutableBytes { raw in
                    try sink.read(offset: offset, into: UnsafeMutableRawBufferPointer(rebasing: raw[0..<length]))
                    // The last block is stored zero-padded to a whole block.
                    if length < blockSize { UnsafeMutableRawBufferPointer(rebasing: raw[length...]).initializeMemory(as: UInt8.self, repeating: 0) }
                }
            } catch {
                found.append("block \(block) (guest bytes \(offset)-\(offset + Int64(length) - 1)) cannot be read back: \((error as? UnderstudyError)?.message ?? "\(error)")")
                return
            }
            // All-zero blocks are never stored: their id is the zero id.
            let matches = buffer.withUnsafeBytes { id.isZero ? isAllZero($0) : ChunkID.hash($0) == id }
            if !matches {
                found.append("block \(block) (guest bytes \(offset)-\(offset + Int64(length) - 1)) does not hold what point \(point.id ?? 0) wrote there")
            }
            done += Int64(length)
            progress.update(done: done)
        }
        // Blocks under an all-zero index page have no entry: they must read as zeros.
        try BlockIndexReader.walk(point.index, chunks: chunks, page: { _, _, _ in found.count < limit }, entry: { id, block in
            guard block < blocks else { return }
            while next < block { try check(next, .zero); next += 1 }
            try check(block, id)
            next = block + 1
        })
        while next < blocks && found.count < limit { try check(next, .zero); next += 1 }
        progress.finish()
        return found
    }
}
