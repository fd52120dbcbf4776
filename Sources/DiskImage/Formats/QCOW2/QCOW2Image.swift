import BlockStore
import Core

/// A qcow2 image being written or updated: the header, the L1 table, L2 tables (cached while
/// in use), and the refcount of every host cluster, all in memory; `flush()` writes what
/// changed. Full builds and in-place updates share this model, so both keep the spec's rules
/// (qcow2.rst "Host cluster management"): refcounts count everything, COPIED is set exactly
/// when a cluster's refcount is 1, compressed spans count once per host cluster they touch.
final class QCOW2Image {
    let file: any ImageFile
    var header: QCOW2Header
    var l1: [UInt64]
    /// Refcount of every host cluster, by cluster index.
    var counts: [UInt16]
    /// Host offsets of refcount blocks, by block index (0 = none).
    var refcountTable: [UInt64]
    private var dirtyRefcountBlocks = Set<Int>()
    private var l1Dirty = false
    private var l2Cache: [Int: [UInt64]] = [:]
    /// The L2 table `read` used last (reading a whole disk must not cache every table).
    var lastReadL2: (index: Int, table: [UInt64])?
    private var dirtyL2 = Set<Int>()
    /// Next byte for compressed data, while the file's tail is a compressed run.
    private var compressedTail: Int64?
    /// Where to look for a free cluster next (updates reuse freed clusters).
    private var freeCursor: Int
    var headerDirty = false
    /// Set on new overlays: the backing image and its format, recorded in the header.
    var backing: (file: String, format: String)?

    var clusterSize: Int64 { header.clusterSize }
    var refcountsPerBlock: Int { Int(clusterSize) / 2 }

    /// A new, empty image of `size` bytes: header in cluster 0, the L1 table after it.
    init(creating file: any ImageFile, size: Int64, compressed: Bool) throws {
        self.file = file
        var h = QCOW2Header()
        h.size = UInt64(size)
        let l2Coverage = h.clusterSize * h.l2Entries
        h.l1Size = UInt32(Binary.divideUp(size, l2Coverage))
        h.l1TableOffset = UInt64(h.clusterSize)
        if compressed {
            h.incompatibleFeatures |= QCOW2Header.compressionTypeBit
            h.compressionType = 1
        }
        header = h
        l1 = Array(repeating: 0, count: Int(h.l1Size))
        let l1Clusters = max(1, Int(Binary.divideUp(Int64(h.l1Size) * 8, h.clusterSize)))
        counts = Array(repeating: 1, count: 1 + l1Clusters)
        refcountTable = []
        freeCursor = counts.count
        l1Dirty = true
        headerDirty = true
        try file.truncate(to: Int64(counts.count) * h.clusterSize)
    }

    /// An existing image, to update in place. The caller has run `QCOW2Checker` on it: every
    /// table and entry followed here lies inside the file and refcounts match their use.
    init(opening file: any ImageFile) throws {
        self.file = file
        guard let h = QCOW2Header.decode(try file.read(Int(min(4096, file.size)), at: 0)) else {
            throw UnderstudyError(.unsupported, "\(file.path) is not a qcow2 image", at: .init(path: file.path))
        }
        try Self.checkSupported(h, path: file.path)
        let layout = h.layoutProblems(fileSize: file.size)
        guard layout.isEmpty else { throw ImageDamage.refuseUpdate(file, problems: layout) }
        header = h
        let l1Bytes = try file.read(Int(h.l1Size) * 8, at: Int64(h.l1TableOffset))
        l1 = (0..<Int(h.l1Size)).map { Binary.loadBE(UInt64.self, l1Bytes, $0 * 8) }
        let tableBytes = try file.read(Int(h.refcountTableClusters) * Int(h.clusterSize), at: Int64(h.refcountTableOffset))
        refcountTable = (0..<(tableBytes.count / 8)).map { Binary.loadBE(UInt64.self, tableBytes, $0 * 8) & QCOW2Header.refcountOffsetMask }
        let fileClusters = Int(Binary.divideUp(file.size, h.clusterSize))
        counts = Array(repeating: 0, count: fileClusters)
        // Only the blocks describing the file's clusters: refcounts past the end are rewritten
        // from `counts` (zeros) when the file grows into them.
        let perBlock = Int(h.clusterSize) / 2
        for (index, offset) in refcountTable.prefix(Int(Binary.divideUp(Int64(fileClusters), Int64(perBlock)))).enumerated() where offset != 0 {
            let block = try file.read(Int(h.clusterSize), at: Binary.offset(offset))
            for i in 0..<perBlock where index * perBlock + i < fileClusters {
                counts[index * perBlock + i] = Binary.loadBE(UInt16.self, block, i * 2)
            }
        }
        freeCursor = 1
    }

    /// What we can update in place: our own kind of image.
    static func checkSupported(_ h: QCOW2Header, path: String) throws {
        let known = QCOW2Header.dirtyBit | QCOW2Header.compressionTypeBit
        guard h.version == 3, h.refcountOrder == 4, h.cryptMethod == 0, h.backingFileOffset == 0, h.nbSnapshots == 0,
              h.incompatibleFeatures & ~known == 0, (9...21).contains(h.clusterBits) else {
            throw UnderstudyError(.unsupported, "\(path): qcow2 features Understudy does not update in place (version \(h.version), refcount order \(h.refcountOrder), backing file, snapshots, encryption or unknown incompatible features)",
                             at: .init(path: path))
        }
    }

    // MARK: - clusters

    var fileEnd: Int64 { Int64(counts.count) * clusterSize }

    func adjust(_ cluster: Int, by delta: Int) {
        if cluster >= counts.count { counts += Array(repeating: 0, count: cluster + 1 - counts.count) }
        counts[cluster] = UInt16(Int(counts[cluster]) + delta)
        dirtyRefcountBlocks.insert(cluster / refcountsPerBlock)
        if delta < 0 && counts[cluster] == 0 { freeCursor = min(freeCursor, cluster) }
    }

    /// One cluster: a freed one if there is one, else at the end of the file.
    func allocateCluster() -> Int64 {
        while freeCursor < counts.count && counts[freeCursor] != 0 { freeCursor += 1 }
        let cluster = freeCursor
        if cluster >= counts.count { compressedTail = nil }
        adjust(cluster, by: 1)
        freeCursor += 1
        return Int64(cluster) * clusterSize
    }

    /// `n` contiguous clusters at the end of the file.
    func appendClusters(_ n: Int) -> Int64 {
        compressedTail = nil
        let first = counts.count
        for c in first..<(first + n) { adjust(c, by: 1) }
        return Int64(first) * clusterSize
    }

    /// Byte-granular room for compressed data, packed at the end of the file.
    func allocateCompressed(_ length: Int) -> Int64 {
        let start = compressedTail ?? fileEnd
        let end = start + Int64(length)
        for c in Int(start / clusterSize)...Int((end - 1) / clusterSize) { adjust(c, by: 1) }
        compressedTail = end
        return start
    }

    /// Drops the reference an L2 entry held.
    func release(_ entry: UInt64) {
        // (Counts already at zero are left alone: the update's pre-check makes that impossible,
        // and a refcount must never wrap.)
        if entry & QCOW2Header.compressedFlag != 0 {
            let span = header.compressedSpan(entry)
            let first = span.start / clusterSize, last = min(span.last / clusterSize, Int64(counts.count - 1))
            guard first <= last else { return }
            for c in first...last where counts[Int(c)] > 0 { adjust(Int(c), by: -1) }
        } else if entry & QCOW2Header.offsetMask != 0 {
            let cluster = Int(Int64(entry & QCOW2Header.offsetMask) / clusterSize)
            if cluster < counts.count && counts[cluster] > 0 { adjust(cluster, by: -1) }
        }
    }

    // MARK: - L2 tables

    /// The L2 table covering L1 slot `index`, loaded or created (all unallocated).
    func l2(_ index: Int, create: Bool) throws -> [UInt64]? {
        if let cached = l2Cache[index] { return cached }
        let entry = l1[index]
        let offset = Int64(entry & QCOW2Header.offsetMask)
        if offset == 0 {
            guard create else { return nil }
            let table = [UInt64](repeating: 0, count: Int(header.l2Entries))
            let host = allocateCluster()
            l1[index] = UInt64(host) | QCOW2Header.copiedFlag
            l1Dirty = true
            l2Cache[index] = table
            dirtyL2.insert(index)
            return table
        }
        let table = try loadL2(at: offset)
        l2Cache[index] = table
        return table
    }

    /// The L2 table stored at `offset`, as entries.
    func loadL2(at offset: Int64) throws -> [UInt64] {
        let bytes = try file.read(Int(clusterSize), at: offset)
        return (0..<Int(header.l2Entries)).map { Binary.loadBE(UInt64.self, bytes, $0 * 8) }
    }

    func setEntry(_ guestCluster: Int64, _ entry: UInt64) throws {
        let index = Int(guestCluster / header.l2Entries), slot = Int(guestCluster % header.l2Entries)
        guard var table = try l2(index, create: entry != 0) else { return }
        table[slot] = entry
        l2Cache[index] = table
        dirtyL2.insert(index)
    }

    func entry(_ guestCluster: Int64) throws -> UInt64 {
        let index = Int(guestCluster / header.l2Entries)
        return try l2(index, create: false)?[Int(guestCluster % header.l2Entries)] ?? 0
    }

    /// Writes and forgets cached L2 tables below `index` (writes arrive in guest order).
    func evictL2(below index: Int) throws {
        for i in l2Cache.keys.sorted() where i < index {
            try writeL2(i)
            l2Cache[i] = nil
        }
    }

    private func writeL2(_ index: Int) throws {
        guard dirtyL2.contains(index), let table = l2Cache[index] else { return }
        var bytes = [UInt8](repeating: 0, count: Int(clusterSize))
        for (i, e) in table.enumerated() where e != 0 { Binary.storeBE(e, &bytes, i * 8) }
        try file.write(bytes, at: Int64(l1[index] & QCOW2Header.offsetMask))
        dirtyL2.remove(index)
    }

    // MARK: - guest data

    /// Stores one guest cluster: `data` (padded to a cluster if short), or the stored zstd `frame`
    /// of it as a compressed cluster when that is smaller. All-zero data unallocates the cluster.
    func store(_ guestCluster: Int64, data: UnsafeRawBufferPointer, frame: UnsafeRawBufferPointer?) throws {
        let old = try entry(guestCluster)
        if isAllZero(data) {
            if old != 0 { release(old); try setEntry(guestCluster, 0) }
            return
        }
        if let frame, frame.count < Int(clusterSize) - 512 {
            release(old)
            let offset = allocateCompressed(frame.count)
            try file.write(frame, at: offset)
            let additional = UInt64((offset + Int64(frame.count) - 1) / 512 - offset / 512)
            try setEntry(guestCluster, QCOW2Header.compressedFlag | additional << UInt64(header.compressedOffsetBits) | UInt64(offset))
            return
        }
        var host = Int64(old & QCOW2Header.offsetMask)
        let inPlace = old & QCOW2Header.compressedFlag == 0 && host != 0 && host / clusterSize < Int64(counts.count)
            && counts[Int(host / clusterSize)] == 1
        if !inPlace {
            release(old)
            host = allocateCluster()
        }
        if data.count < Int(clusterSize) {
            var padded = [UInt8](repeating: 0, count: Int(clusterSize))
            padded.withUnsafeMutableBytes { $0.copyMemory(from: data) }
            try file.write(padded, at: host)
        } else {
            try file.write(data, at: host)
        }
        if !inPlace || old & QCOW2Header.copiedFlag == 0 {
            try setEntry(guestCluster, UInt64(host) | QCOW2Header.copiedFlag)
        }
    }

    // MARK: - writing metadata

    /// Writes L2 tables, the L1 table, refcount blocks (adding blocks and growing the table as
    /// needed) and the header.
    func flush() throws {
        try evictL2(below: Int.max)
        try placeRefcounts()
        if l1Dirty {
            var bytes = [UInt8](repeating: 0, count: l1.count * 8)
            for (i, e) in l1.enumerated() { Binary.storeBE(e, &bytes, i * 8) }
            try file.write(bytes, at: Int64(header.l1TableOffset))
            l1Dirty = false
        }
        for block in dirtyRefcountBlocks.sorted() where block < refcountTable.count && refcountTable[block] != 0 {
            var bytes = [UInt8](repeating: 0, count: Int(clusterSize))
            let first = block * refcountsPerBlock
            for i in 0..<refcountsPerBlock where first + i < counts.count {
                Binary.storeBE(counts[first + i], &bytes, i * 2)
            }
            try file.write(bytes, at: Int64(refcountTable[block]))
        }
        dirtyRefcountBlocks.removeAll()
        if headerDirty {
            try file.write(header.encode(backing: backing), at: 0)
            headerDirty = false
        }
        if file.size < fileEnd { try file.truncate(to: fileEnd) }
    }

    /// Every cluster in use must be covered by a refcount block listed in the table; allocating
    /// blocks (and a bigger table) uses clusters too, so repeat until nothing is missing.
    private func placeRefcounts() throws {
        while true {
            let needed = Int(Binary.divideUp(Int64(counts.count), Int64(refcountsPerBlock)))
            if needed > refcountTable.count {
                try growTable(to: needed)
                continue
            }
            var added = false
            for block in 0..<needed where refcountTable[block] == 0 && hasUse(block) {
                refcountTable[block] = UInt64(allocateCluster())
                dirtyRefcountBlocks.insert(block)
                writeTableLater = true
                added = true
            }
            if !added { break }
        }
        if writeTableLater {
            var bytes = [UInt8](repeating: 0, count: Int(header.refcountTableClusters) * Int(clusterSize))
            for (i, e) in refcountTable.enumerated() { Binary.storeBE(e, &bytes, i * 8) }
            try file.write(bytes, at: Int64(header.refcountTableOffset))
            writeTableLater = false
        }
    }

    private var writeTableLater = false

    private func hasUse(_ block: Int) -> Bool {
        let first = block * refcountsPerBlock
        return counts[first..<min(counts.count, first + refcountsPerBlock)].contains { $0 != 0 }
    }

    /// A new table at the end of the file, with room to spare; the old one's clusters are freed.
    private func growTable(to blocks: Int) throws {
        let entries = max(blocks * 2, Int(clusterSize) / 8)
        let clusters = Int(Binary.divideUp(Int64(entries) * 8, clusterSize))
        let oldOffset = Int64(header.refcountTableOffset), oldClusters = Int(header.refcountTableClusters)
        let offset = appendClusters(clusters)
        if oldOffset != 0 {
            for c in 0..<oldClusters { adjust(Int(oldOffset / clusterSize) + c, by: -1) }
        }
        refcountTable += Array(repeating: 0, count: clusters * Int(clusterSize) / 8 - refcountTable.count)
        header.refcountTableOffset = UInt64(offset)
        header.refcountTableClusters = UInt32(clusters)
        headerDirty = true
        writeTableLater = true
    }
}
