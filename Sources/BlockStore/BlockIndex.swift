public import Zstd
import Core
public import ChunkFormat

/// Where a point's block index lives: a tree of pages stored as chunks.
///
/// A page holds up to `fanout` 32-byte ids. Leaf pages hold block chunk ids (zero id = zero block);
/// upper pages hold the ids of the pages below (zero id = an all-zero subtree, never stored).
/// Unchanged pages hash the same and are shared between points, so a point costs metadata in
/// proportion to what changed: one leaf per changed 64 MiB (at 64 KiB blocks) plus its ancestors.
public struct BlockIndexRoot: Sendable, Hashable, Codable {
    public static let fanout = 1024
    public static let pageBytes = fanout * ChunkID.byteCount

    public var root: ChunkID
    /// Levels in the tree; 1 means the root is the only leaf.
    public var depth: Int
    public var blockCount: Int

    public init(root: ChunkID, depth: Int, blockCount: Int) {
        self.root = root
        self.depth = depth
        self.blockCount = blockCount
    }

    /// The smallest depth whose tree can hold `blockCount` entries.
    public static func depth(for blockCount: Int) -> Int {
        var depth = 1
        var capacity = fanout
        while capacity < blockCount {
            depth += 1
            capacity = capacity.multipliedReportingOverflow(by: fanout).overflow ? Int.max : capacity * fanout
        }
        return depth
    }

    /// How many blocks one entry of a page at `level` (0 = leaf) covers.
    static func span(level: Int) -> Int {
        var span = 1
        for _ in 0..<level { span *= fanout }
        return span
    }

    /// How many entries the page at `level` starting at block `first` holds.
    func entryCount(level: Int, firstBlock: Int) -> Int {
        let span = Self.span(level: level)
        let remaining = blockCount - firstBlock
        return min(Self.fanout, (remaining + span - 1) / span)
    }
}

/// Builds a block index from entries appended in block order, storing full pages as it goes.
public final class BlockIndexBuilder {
    public typealias PageWriter = (UnsafeRawBufferPointer) throws -> ChunkID
    private let blockCount: Int
    private let depth: Int
    private var levels: [[UInt8]]
    private var appended = 0
    private let writePage: PageWriter

    /// `writePage` stores a non-zero page and returns its id.
    public init(blockCount: Int, writePage: @escaping PageWriter) {
        self.blockCount = blockCount
        self.depth = BlockIndexRoot.depth(for: blockCount)
        self.levels = Array(repeating: [], count: depth)
        self.writePage = writePage
        for i in 0..<depth { levels[i].reserveCapacity(BlockIndexRoot.pageBytes) }
    }

    public func append(_ id: ChunkID) throws {
        precondition(appended < blockCount, "more entries than blocks")
        appended += 1
        try push(id, level: 0)
    }

    private func push(_ id: ChunkID, level: Int) throws {
        let start = levels[level].count
        levels[level].append(contentsOf: repeatElement(0, count: ChunkID.byteCount))
        levels[level].withUnsafeMutableBytes { id.store(to: $0.baseAddress! + start) }
        if levels[level].count == BlockIndexRoot.pageBytes && level < depth - 1 {
            try closePage(level: level)
        }
    }

    private func closePage(level: Int) throws {
        let page = levels[level]
        levels[level].removeAll(keepingCapacity: true)
        let id = try page.withUnsafeBytes { (raw) throws -> ChunkID in
            isAllZero(raw) ? .zero : try writePage(raw)
        }
        try push(id, level: level + 1)
    }

    /// Closes partial pages bottom-up and returns the root.
    public func finish() throws -> BlockIndexRoot {
        precondition(appended == blockCount, "index has \(appended) of \(blockCount) entries")
        for level in 0..<(depth - 1) where !levels[level].isEmpty {
            try closePage(level: level)
        }
        let top = levels[depth - 1]
        let root = try top.withUnsafeBytes { (raw) throws -> ChunkID in
            isAllZero(raw) ? .zero : try writePage(raw)
        }
        return BlockIndexRoot(root: root, depth: depth, blockCount: blockCount)
    }
}

/// Reads a block index; caches one page per level, so reading in block order loads each page once.
/// Not thread-safe.
public final class BlockIndexReader {
    public let index: BlockIndexRoot
    private let chunks: any ChunkReader
    private let decompressor = Decompressor()
    /// Per level: the first block the cached page covers, and its entries.
    private var cache: [(first: Int, page: [UInt8])?]

    public init(_ index: BlockIndexRoot, chunks: any ChunkReader) {
        self.index = index
        self.chunks = chunks
        self.cache = Array(repeating: nil, count: index.depth)
    }

    /// The chunk id of block `block` (`.zero` for a zero block).
    public func entry(_ block: Int) throws -> ChunkID {
        precondition(block >= 0 && block < index.blockCount)
        var pageID = index.root
        var pageFirst = 0
        for level in stride(from: index.depth - 1, through: 0, by: -1) {
            if pageID.isZero { return .zero }
            let page = try load(pageID, level: level, first: pageFirst)
            let span = BlockIndexRoot.span(level: level)
            let slot = (block - pageFirst) / span
            pageID = page.withUnsafeBytes { ChunkID(bytes: $0.baseAddress! + slot * ChunkID.byteCount) }
            pageFirst += slot * span
        }
        return pageID
    }

    private func load(_ id: ChunkID, level: Int, first: Int) throws -> [UInt8] {
        if let cached = cache[level], cached.first == first { return cached.page }
        let page = try Self.readPage(id, level: level, first: first, of: index, chunks: chunks, decompressor: decompressor)
        cache[level] = (first, page)
        return page
    }

    /// Reads and checks one page: its hash and its exact entry count.
    public static func readPage(_ id: ChunkID, level: Int, first: Int, of index: BlockIndexRoot,
                                chunks: any ChunkReader, decompressor: Decompressor) throws -> [UInt8] {
        let page = try chunks.read(id, using: decompressor, maxSize: BlockIndexRoot.pageBytes)
        let expected = index.entryCount(level: level, firstBlock: first) * ChunkID.byteCount
        guard page.count == expected else {
            throw UnderstudyError(.corruptChunk, "index page \(id.hex) holds \(page.count) bytes, expected \(expected)",
                             at: .init(block: first, chunk: id.hex))
        }
        return page
    }

    /// Visits every page of the tree top-down. `visit` gets the page id, its level and first block,
    /// and returns whether to descend into it (gc skips pages it has already seen). Leaf entries are
    /// passed to `entry` with their block numbers.
    public static func walk(_ index: BlockIndexRoot, chunks: any ChunkReader,
                            page visit: (ChunkID, _ level: Int, _ first: Int) throws -> Bool,
                            entry: (ChunkID, _ block: Int) throws -> Void) throws {
        let decompressor = Decompressor()
        func descend(_ id: ChunkID, level: Int, first: Int) throws {
            guard !id.isZero, try visit(id, level, first) else { return }
            let page = try readPage(id, level: level, first: first, of: index, chunks: chunks, decompressor: decompressor)
            let span = BlockIndexRoot.span(level: level)
            for slot in 0..<(page.count / ChunkID.byteCount) {
                let child = page.withUnsafeBytes { ChunkID(bytes: $0.baseAddress! + slot * ChunkID.byteCount) }
                if level == 0 {
                    try entry(child, first + slot)
                } else {
                    try descend(child, level: level - 1, first: first + slot * span)
                }
            }
        }
        try descend(index.root, level: index.depth - 1, first: 0)
    }
}

@available(*, unavailable)
extension BlockIndexReader: Sendable {}
