import BlockStore

/// Our own structural check of a qcow2 image: recounts every reference from the metadata and
/// compares with the stored refcounts (as `qemu-img check` does), checks COPIED flags and that
/// every offset lies inside the file.
struct QCOW2Checker {
    let file: any ImageFile

    func run() throws -> [String] {
        guard let h = QCOW2Header.decode(try file.read(min(4096, Int(file.size)), at: 0)) else {
            return ["not a qcow2 image (bad magic)"]
        }
        var problems: [String] = []
        guard (2...3).contains(h.version), (9...21).contains(h.clusterBits) else {
            return ["unsupported version \(h.version) or cluster bits \(h.clusterBits)"]
        }
        guard h.refcountOrder == 4 else { return problems }  // only 16-bit refcounts are recounted
        let c = h.clusterSize
        let clusters = Int(Binary.divideUp(file.size, c))
        var expected = [Int](repeating: 0, count: clusters)
        func use(_ offset: Int64, _ what: String) {
            let i = Int(offset / c)
            guard offset >= 0, i < clusters else { problems.append("\(what) at \(offset) lies beyond the end of the file"); return }
            expected[i] += 1
        }
        func aligned(_ offset: Int64, _ what: String) -> Bool {
            if offset % c != 0 { problems.append("\(what) at \(offset) is not cluster aligned"); return false }
            return true
        }
        use(0, "header")
        for i in 0..<Int(Binary.divideUp(Int64(h.l1Size) * 8, c)) { use(Int64(h.l1TableOffset) + Int64(i) * c, "L1 table") }
        for i in 0..<Int(h.refcountTableClusters) { use(Int64(h.refcountTableOffset) + Int64(i) * c, "refcount table") }
        let tableBytes = try file.read(Int(h.refcountTableClusters) * Int(c), at: Int64(h.refcountTableOffset))
        let table = (0..<(tableBytes.count / 8)).map { Binary.loadBE(UInt64.self, tableBytes, $0 * 8) }
        for (i, offset) in table.enumerated() where offset != 0 {
            if aligned(Int64(offset), "refcount block \(i)") { use(Int64(offset), "refcount block \(i)") }
        }
        let l1Bytes = try file.read(Int(h.l1Size) * 8, at: Int64(h.l1TableOffset))
        var l2Entries: [(entry: UInt64, where: String)] = []
        for i in 0..<Int(h.l1Size) {
            let e = Binary.loadBE(UInt64.self, l1Bytes, i * 8)
            let offset = Int64(e & QCOW2Header.offsetMask)
            guard offset != 0, aligned(offset, "L2 table \(i)") else { continue }
            use(offset, "L2 table \(i)")
            l2Entries.append((e, "L1[\(i)]"))
            guard offset + c <= file.size else { continue }
            let l2 = try file.read(Int(c), at: offset)
            for j in 0..<Int(h.l2Entries) {
                let entry = Binary.loadBE(UInt64.self, l2, j * 8)
                guard entry != 0 else { continue }
                let guest = Int64(i) * h.l2Entries + Int64(j)
                if entry & QCOW2Header.compressedFlag != 0 {
                    let bits = h.compressedOffsetBits
                    let start = Int64(entry & ((1 << UInt64(bits)) - 1))
                    let sectors = Int64((entry >> UInt64(bits)) & ((1 << UInt64(62 - bits)) - 1)) + 1
                    let last = (start & ~511) + sectors * 512 - 1
                    if entry & QCOW2Header.copiedFlag != 0 { problems.append("compressed cluster \(guest) has the COPIED flag") }
                    for k in (start / c)...(last / c) { use(k * c, "compressed cluster \(guest)") }
                } else if entry & QCOW2Header.offsetMask != 0 {
                    let host = Int64(entry & QCOW2Header.offsetMask)
                    if aligned(host, "data cluster \(guest)") { use(host, "data cluster \(guest)") }
                    l2Entries.append((entry, "guest cluster \(guest)"))
                }
            }
        }
        // Stored refcounts.
        var stored = [Int](repeating: 0, count: clusters)
        let perBlock = Int(c) / 2
        for (i, offset) in table.enumerated() where offset != 0 && Int64(offset) + c <= file.size {
            let block = try file.read(Int(c), at: Int64(offset))
            for k in 0..<perBlock where i * perBlock + k < clusters {
                stored[i * perBlock + k] = Int(Binary.loadBE(UInt16.self, block, k * 2))
            }
        }
        var leaked = 0
        for i in 0..<clusters where stored[i] != expected[i] {
            if stored[i] < expected[i] {
                problems.append("cluster \(i): refcount \(stored[i]) but \(expected[i]) references (corruption)")
            } else {
                leaked += 1
            }
        }
        if leaked > 0 { problems.append("\(leaked) clusters leaked (refcount higher than their use)") }
        for (entry, place) in l2Entries {
            let host = Int(Int64(entry & QCOW2Header.offsetMask) / c)
            guard host < clusters else { continue }
            let copied = entry & QCOW2Header.copiedFlag != 0
            if copied != (stored[host] == 1) { problems.append("\(place): COPIED flag \(copied ? "set" : "clear") but refcount is \(stored[host])") }
        }
        return problems
    }
}
