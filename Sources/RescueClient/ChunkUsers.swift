public import RescueProtocol

/// For each distinct chunk, the blocks that hold it (compressed row storage: one array of block
/// numbers grouped by chunk, and where each chunk's group starts).
public struct ChunkUsers: Sendable {
    let start: [Int]
    let blocks: [UInt32]

    public init(_ index: RescueIndex) {
        var count = [Int](repeating: 0, count: index.chunkCount + 1)
        for entry in index.blocks where entry != 0 { count[Int(entry)] += 1 }
        var start = [Int](repeating: 0, count: index.chunkCount + 1)
        for chunk in 0..<index.chunkCount { start[chunk + 1] = start[chunk] + count[chunk + 1] }
        var fill = start
        var blocks = [UInt32](repeating: 0, count: start[index.chunkCount])
        for (block, entry) in index.blocks.enumerated() where entry != 0 {
            let chunk = Int(entry) - 1
            blocks[fill[chunk]] = UInt32(block)
            fill[chunk] += 1
        }
        self.start = start
        self.blocks = blocks
    }

    public func blocks(of chunk: Int) -> ArraySlice<UInt32> { blocks[start[chunk]..<start[chunk + 1]] }
}
