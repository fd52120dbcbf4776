import Zstd
public import ChunkFormat

extension BlockIndexReader {
    /// Calls `changed(block, newID)` for every block whose entry differs between `old` and `new`
    /// (same block size), in block order. Identical subtrees (same page id) are skipped whole, so
    /// the cost is O(changed pages), not O(disk). Blocks beyond `old`'s end count as changed
    /// unless zero; blocks beyond `new`'s end are not reported.
    public static func diff(_ old: BlockIndexRoot, _ new: BlockIndexRoot, chunks: any ChunkReader,
                            changed: (_ block: Int, _ id: ChunkID) throws -> Void) throws {
        let decompressor = Decompressor()
        if old.depth != new.depth || old.blockCount != new.blockCount {
            // Different shapes: compare entry by entry (a resize; rare).
            let oldReader = BlockIndexReader(old, chunks: chunks)
            let newReader = BlockIndexReader(new, chunks: chunks)
            for block in 0..<new.blockCount {
                let n = try newReader.entry(block)
                let o = block < old.blockCount ? try oldReader.entry(block) : .zero
                if n != o { try changed(block, n) }
            }
            return
        }
        func page(_ id: ChunkID, _ index: BlockIndexRoot, level: Int, first: Int) throws -> [UInt8]? {
            id.isZero ? nil : try readPage(id, level: level, first: first, of: index, chunks: chunks, decompressor: decompressor)
        }
        func entry(_ page: [UInt8]?, _ slot: Int) -> ChunkID {
            guard let page else { return .zero }
            return page.withUnsafeBytes { ChunkID(bytes: $0.baseAddress! + slot * ChunkID.byteCount) }
        }
        func walk(_ o: ChunkID, _ n: ChunkID, level: Int, first: Int) throws {
            if o == n { return }
            let oldPage = try page(o, old, level: level, first: first)
            let newPage = try page(n, new, level: level, first: first)
            let span = BlockIndexRoot.span(level: level)
            let count = new.entryCount(level: level, firstBlock: first)
            for slot in 0..<count {
                let a = entry(oldPage, slot), b = entry(newPage, slot)
                guard a != b else { continue }
                if level == 0 {
                    try changed(first + slot, b)
                } else {
                    try walk(a, b, level: level - 1, first: first + slot * span)
                }
            }
        }
        try walk(old.root, new.root, level: new.depth - 1, first: 0)
    }

    /// Every non-zero entry in block order.
    public static func forEachDataBlock(_ index: BlockIndexRoot, chunks: any ChunkReader,
                                        _ body: (_ block: Int, _ id: ChunkID) throws -> Void) throws {
        try walk(index, chunks: chunks, page: { _, _, _ in true }, entry: { id, block in
            if !id.isZero { try body(block, id) }
        })
    }
}
