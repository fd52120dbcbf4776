import BlockStore

/// Our own structural check of a qcow2 image: recounts every reference from the metadata and
/// compares with the stored refcounts (as `qemu-img check` does), checks COPIED flags and that
/// every offset lies inside the file.
///
/// The image is untrusted: the header's tables are validated before they are read, each L2
/// table is walked once however many L1 entries name it, and only the refcount blocks that
/// describe clusters of the file are read, so the work and memory are bounded by the file's size.
struct QCOW2Checker {
    let file: any ImageFile

    /// Problems, leaks included (as one line).
    func run() throws -> [String] {
        let found = try findings()
        return found.leaked > 0 ? found.problems + ["\(found.leaked) clusters leaked (refcount higher than their use)"] : found.problems
    }

    /// Problems that make the image unsafe to read or update, and the number of leaked clusters
    /// (wasted space, harmless: `qemu-img check` exits 3 for them, not 2).
    func findings() throws -> (problems: [String], leaked: Int) {
        let size = file.size
        guard size >= 72, let h = QCOW2Header.decode(try file.read(Int(min(4096, size)), at: 0)) else {
            return (["not a qcow2 image (bad magic)"], 0)
        }
        let layout = h.layoutProblems(fileSize: size)
        guard layout.isEmpty else { return (layout, 0) }
        let extensions = h.extensionProblems(try file.read(Int(min(h.clusterSize, size)), at: 0))
        guard extensions.isEmpty else { return (extensions, 0) }
        guard h.refcountOrder == 4 else { return ([], 0) }  // only 16-bit refcounts are recounted
        var p = Problems()
        let c = h.clusterSize
        let clusters = Int(Binary.divideUp(size, c))
        var expected = [Int32](repeating: 0, count: clusters)
        func use(_ offset: Int64, _ what: @autoclosure () -> String) {
            guard offset >= 0, offset / c < Int64(clusters) else { p.add("\(what()) at \(offset) lies beyond the end of the file"); return }
            expected[Int(offset / c)] &+= 1
        }
        func aligned(_ offset: Int64, _ what: @autoclosure () -> String) -> Bool {
            if offset % c != 0 { p.add("\(what()) at \(offset) is not cluster aligned"); return false }
            return true
        }
        use(0, "header")
        let l1Offset = Int64(h.l1TableOffset), tableOffset = Int64(h.refcountTableOffset)  // validated by layoutProblems
        for i in 0..<Binary.divideUp(Int64(h.l1Size) * 8, c) { use(l1Offset + i * c, "L1 table") }
        for i in 0..<Int64(h.refcountTableClusters) { use(tableOffset + i * c, "refcount table") }
        let tableBytes = try file.read(Int(h.refcountTableClusters) * Int(c), at: tableOffset)
        let table = (0..<(tableBytes.count / 8)).map { Binary.offset(Binary.loadBE(UInt64.self, tableBytes, $0 * 8) & QCOW2Header.refcountOffsetMask) }
        for (i, offset) in table.enumerated() where offset != 0 {
            if aligned(offset, "refcount block \(i)") { use(offset, "refcount block \(i)") }
        }
        let l1Bytes = try file.read(Int(h.l1Size) * 8, at: l1Offset)
        var l2Entries: [(entry: UInt64, where: String)] = []
        var walked = Set<Int64>()
        for i in 0..<Int(h.l1Size) {
            let e = Binary.loadBE(UInt64.self, l1Bytes, i * 8)
            let offset = Int64(e & QCOW2Header.offsetMask)
            guard offset != 0, aligned(offset, "L2 table \(i)") else { continue }
            use(offset, "L2 table \(i)")
            l2Entries.append((e, "L1[\(i)]"))
            // A table named twice is counted twice (the refcount comparison reports it) but walked once.
            guard Binary.end(offset, c, within: size) != nil, walked.insert(offset).inserted else { continue }
            let l2 = try file.read(Int(c), at: offset)
            for j in 0..<Int(h.l2Entries) {
                let entry = Binary.loadBE(UInt64.self, l2, j * 8)
                guard entry != 0 else { continue }
                let guest = Int64(i) * h.l2Entries + Int64(j)
                if entry & QCOW2Header.compressedFlag != 0 {
                    if entry & QCOW2Header.copiedFlag != 0 { p.add("compressed cluster \(guest) has the COPIED flag") }
                    // A compressed span is at most two clusters' worth of sectors: three clusters at most.
                    let span = h.compressedSpan(entry)
                    for k in (span.start / c)...(span.last / c) { use(k * c, "compressed cluster \(guest)") }
                } else if entry & QCOW2Header.offsetMask != 0 {
                    let host = Int64(entry & QCOW2Header.offsetMask)
                    if aligned(host, "data cluster \(guest)") { use(host, "data cluster \(guest)") }
                    l2Entries.append((entry, "guest cluster \(guest)"))
                }
            }
        }
        // Stored refcounts: only the blocks describing the file's clusters matter.
        var stored = [Int](repeating: 0, count: clusters)
        let perBlock = Int(c) / 2
        for (i, offset) in table.prefix(Int(Binary.divideUp(Int64(clusters), Int64(perBlock)))).enumerated()
        where offset != 0 && offset % c == 0 && Binary.end(offset, c, within: size) != nil {
            let block = try file.read(Int(c), at: offset)
            for k in 0..<perBlock where i * perBlock + k < clusters {
                stored[i * perBlock + k] = Int(Binary.loadBE(UInt16.self, block, k * 2))
            }
        }
        var leaked = 0
        for i in 0..<clusters where stored[i] != Int(expected[i]) {
            if stored[i] < Int(expected[i]) {
                p.add("cluster \(i): refcount \(stored[i]) but \(expected[i]) references (corruption)")
            } else {
                leaked += 1
            }
        }
        for (entry, place) in l2Entries {
            let host = Int(Int64(entry & QCOW2Header.offsetMask) / c)
            guard host < clusters else { continue }
            let copied = entry & QCOW2Header.copiedFlag != 0
            if copied != (stored[host] == 1) { p.add("\(place): COPIED flag \(copied ? "set" : "clear") but refcount is \(stored[host])") }
        }
        return (p.all, leaked)
    }
}
