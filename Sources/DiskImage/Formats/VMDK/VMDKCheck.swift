import BlockStore
import Foundation
import Core

extension VMDK {
    /// Structural check of a sparse extent (never reads guest data, like `qemu-img check`): the
    /// header and footer, the descriptor against the header, every grain directory and table
    /// inside the file, the redundant tables equal to the primary ones, every grain inside the
    /// file and clear of metadata and of other grains, and for streams each grain marker's LBA.
    static func check(_ file: any ImageFile) throws -> [String] {
        var p = Problems()
        let extent: Extent
        do { extent = try Extent(file) } catch let error as UnderstudyError { return [error.message] }
        let h = extent.header, fileSectors = extent.fileSectors
        if ![1, 2, 3].contains(h.version) { p.add("header: version \(h.version) is not 1, 2 or 3") }
        if h.gtesPerGT != UInt32(VMDK.gtesPerGT) { p.add("header: \(h.gtesPerGT) entries per grain table; VMware reads only 512") }
        let first = try file.read(VMDK.sector, at: 0)
        if h.flags & Header.flagNewlineTest != 0, Array(first[73..<77]) != Header.newlineBytes {
            p.add("header: newline detection bytes @73 are not \\n \\r\\n (file went through a text-mode transfer?)")
        }
        if h.isCompressed {
            if h.compressAlgorithm != Header.compressionDeflate { p.add("header: compressed grains but compress algorithm \(h.compressAlgorithm), not deflate (1)") }
            if !h.hasMarkers { p.add("header: compressed grains without markers; streamOptimized needs both (flags 0x30000)") }
        }
        if extent.footerSector != nil {
            var footer = h, head = extent.fileHeader
            footer.gdOffset = 0
            head.gdOffset = 0
            if footer != head { p.add("footer: differs from the header in fields other than gdOffset") }
        }
        checkDescriptor(extent, &p)

        // Metadata: header, descriptor, directories, tables (sector ranges).
        var meta: [(start: Int64, end: Int64, what: String)] = [(0, 1, "header")]
        if let range = extent.descriptorSectors { meta.append((range.lowerBound, range.upperBound, "descriptor")) }
        if let footer = extent.footerSector { meta.append((footer - 1, footer + 2, "footer")) }
        var directories: [(name: String, entries: [UInt32])] = []
        for (name, sector) in [("grain directory", Optional(h.gdOffset)), ("redundant grain directory", extent.redundantDirectory)] {
            guard let sector else { continue }
            guard sector > 0, Binary.end(Binary.offset(sector), extent.gdSectors, within: fileSectors) != nil else {
                p.add("\(name) at sector \(sector) (\(extent.gdSectors) sectors) lies outside the file (\(fileSectors) sectors)")
                continue
            }
            meta.append((Int64(sector), Int64(sector) + extent.gdSectors, name))
            directories.append((name, try extent.directory(at: sector)))
        }
        // Tables that cannot all fit in the file side by side overlap: reading each would cost
        // more than the file holds (a directory of garbage naming one sector a million times).
        let distinct = Set(directories.flatMap { $0.entries.filter { $0 != 0 } })
        if Int64(distinct.count) * extent.gtSectors > fileSectors {
            p.add("the grain directories name \(distinct.count) grain tables of \(extent.gtSectors) sectors, more than the file's \(fileSectors) sectors hold")
            return p.all
        }
        if directories.count == 2 {
            for (t, (a, b)) in zip(directories[0].entries, directories[1].entries).enumerated() where (a == 0) != (b == 0) {
                p.add("grain directory entry \(t) is \(a) but the redundant one is \(b): one copy lacks the table")
            }
        }
        var tables: [[UInt32]?] = []
        for (d, directory) in directories.enumerated() {
            var loaded: [[UInt32]?] = []
            var seen = Set<UInt32>()
            for (t, sector) in directory.entries.enumerated() {
                guard sector != 0 else { loaded.append(nil); continue }
                // A table named twice is walked once: the work stays bounded by the file's size.
                guard seen.insert(sector).inserted else {
                    p.add("\(directory.name) entry \(t): grain table at sector \(sector) is named by an earlier entry too")
                    loaded.append(nil)
                    continue
                }
                guard Int64(sector) + extent.gtSectors <= fileSectors else {
                    p.add("\(directory.name) entry \(t): grain table at sector \(sector) lies outside the file (\(fileSectors) sectors)")
                    loaded.append(nil)
                    continue
                }
                meta.append((Int64(sector), Int64(sector) + extent.gtSectors, "grain table \(t)"))
                if h.hasMarkers, extent.footerSector != nil {
                    let marker = try file.read(VMDK.sector, at: (Int64(sector) - 1) * Int64(VMDK.sector))
                    if get(UInt32.self, marker, at: 12) != Marker.grainTable { p.add("grain table \(t): no grain table marker before sector \(sector)") }
                }
                loaded.append(try extent.table(at: sector))
            }
            if d == 0 {
                tables = loaded
            } else {
                for t in loaded.indices where t < tables.count && loaded[t] != nil && tables[t] != nil && loaded[t]! != tables[t]! {
                    p.add("redundant grain table \(t) differs from the primary one")
                }
            }
        }
        meta.sort { $0.start < $1.start }
        for (a, b) in zip(meta, meta.dropFirst()) where b.start < a.end {
            p.add("\(a.what) (sectors \(a.start)..<\(a.end)) overlaps \(b.what) (from sector \(b.start))")
        }
        try checkGrains(extent, tables: tables, meta: meta, &p)
        return p.all
    }

    private static func checkDescriptor(_ extent: Extent, _ p: inout Problems) {
        let h = extent.header
        guard h.descriptorSize > 0 else { p.add("header: no embedded descriptor"); return }
        guard extent.descriptorSectors != nil else {
            p.add("descriptor at sector \(h.descriptorOffset) (\(h.descriptorSize) sectors) lies outside the file"); return
        }
        guard let d = extent.descriptor else { p.add("descriptor at sector \(h.descriptorOffset) does not start with \"# Disk DescriptorFile\""); return }
        let type = d.values["createType"] ?? ""
        let expected = h.isCompressed ? "streamOptimized" : "monolithicSparse"
        if type != expected { p.add("descriptor: createType \"\(type)\" but the header describes a \(expected) extent") }
        if d.extents.count != 1 {
            p.add("descriptor: \(d.extents.count) extent lines; a monolithic file has exactly one")
        } else if let e = d.extents.first {
            if e.type != "SPARSE" { p.add("descriptor: extent type \(e.type), not SPARSE") }
            if e.sectors != Int64(h.capacity) { p.add("descriptor: extent of \(e.sectors) sectors but the header's capacity is \(h.capacity)") }
        }
    }

    /// Every grain inside the file, clear of metadata and of the other grains.
    private static func checkGrains(_ extent: Extent, tables: [[UInt32]?], meta: [(start: Int64, end: Int64, what: String)],
                                    _ p: inout Problems) throws {
        let h = extent.header, fileSectors = extent.fileSectors
        let zeroedMeansOne = h.flags & Header.flagZeroedGTE != 0
        var grains: [(start: Int64, end: Int64, grain: Int64)] = []
        for (t, table) in tables.enumerated() {
            guard let table else { continue }
            for (i, value) in table.enumerated() where value != 0 && !(zeroedMeansOne && value == 1) {
                let grain = Int64(t) * Int64(h.gtesPerGT) + Int64(i)
                let start = Int64(value)
                var end = start + extent.grainSectors
                if grain * extent.grainSectors >= Int64(h.capacity) {
                    p.add("grain table \(t) entry \(i): grain \(grain) lies beyond the disk's capacity"); continue
                }
                if h.hasMarkers {
                    guard start < fileSectors else { p.add("grain \(grain) at sector \(start) lies outside the file (\(fileSectors) sectors)"); continue }
                    let marker = try extent.file.read(VMDK.sector, at: start * Int64(VMDK.sector))
                    let lba = get(UInt64.self, marker, at: 0), size = Int64(get(UInt32.self, marker, at: 8))
                    if lba != UInt64(grain * extent.grainSectors) { p.add("grain \(grain) at sector \(start): marker says LBA \(lba), expected \(grain * extent.grainSectors)") }
                    if size == 0 || size > 2 * Int64(extent.grainSectors) * Int64(VMDK.sector) { p.add("grain \(grain) at sector \(start): implausible compressed size \(size)") }
                    end = start + (Int64(Marker.grainHeaderSize) + size + Int64(VMDK.sector) - 1) / Int64(VMDK.sector)
                }
                if end > fileSectors { p.add("grain \(grain) at sector \(start) runs past the end of the file (\(fileSectors) sectors)"); continue }
                grains.append((start, end, grain))
            }
        }
        // Grains against metadata (sorted by start): the range just before each grain's start,
        // or the first one starting inside it, is the lowest one it could overlap.
        for g in grains {
            var lo = 0, hi = meta.count
            while lo < hi { let mid = (lo + hi) / 2; if meta[mid].start < g.start { lo = mid + 1 } else { hi = mid } }
            if lo > 0, meta[lo - 1].end > g.start {
                p.add("grain \(g.grain) at sector \(g.start) overlaps the \(meta[lo - 1].what)")
            } else if lo < meta.count, meta[lo].start < g.end {
                p.add("grain \(g.grain) at sector \(g.start) overlaps the \(meta[lo].what)")
            }
        }
        grains.sort { $0.start < $1.start }
        for (a, b) in zip(grains, grains.dropFirst()) where b.start < a.end {
            p.add("grains \(a.grain) and \(b.grain) share sectors (\(a.start) and \(b.start))")
        }
    }

    /// An OVA: the .ovf first, then the .mf, then disks, and every manifest line's SHA-256 right.
    static func checkPackage(_ file: any ImageFile) throws -> [String] {
        var p = Problems()
        let members = try Tar.members(of: file)
        if members.first.map({ $0.name.lowercased().hasSuffix(".ovf") }) != true { p.add("OVA: the first member is not the .ovf descriptor") }
        guard members.count >= 2, members[1].name.lowercased().hasSuffix(".mf") else {
            p.add("OVA: no .mf manifest right after the descriptor")
            return p.all
        }
        let manifest = String(decoding: try file.read(Int(members[1].size), at: members[1].offset), as: UTF8.self)
        for line in manifest.split(separator: "\n") where !line.isEmpty {
            guard line.hasPrefix("SHA256("), let close = line.range(of: ")= ") else { p.add("OVA manifest: cannot read line \"\(line)\""); continue }
            let name = String(line[line.index(line.startIndex, offsetBy: 7)..<close.lowerBound])
            let expected = line[close.upperBound...].lowercased()
            guard let member = members.first(where: { $0.name == name }) else { p.add("OVA manifest names \(name), which the archive lacks"); continue }
            let actual = try OVASink.sha256(of: file, from: member.offset, length: member.size)
            if actual != expected { p.add("OVA manifest: SHA-256 of \(name) is \(actual), the manifest says \(expected)") }
        }
        return p.all
    }
}
