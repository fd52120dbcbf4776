import BlockStore
import Core

/// An existing VHDX parsed from its file: current header, region table, metadata and BAT.
/// Used by in-place updates, `info` and `check`.
struct VHDXImage {
    var creator: String
    var header: VHDXHeader
    /// Which header slot (0 or 1) is current.
    var headerSlot: Int
    var regions: VHDXRegionTable
    var batRegion: VHDXRegionTable.Entry
    var metadataRegion: VHDXRegionTable.Entry
    var metadata: VHDXMetadata
    var layout: VHDXLayout
    var bat: [UInt64]
    /// Damage that did not stop the parse (a bad copy of a header or region table).
    var warnings: [String] = []

    /// Parses the image; throws for what makes it unreadable (no valid header, a log to replay,
    /// a missing region or metadata item, a BAT too small for the disk).
    static func read(_ file: any ImageFile) throws -> VHDXImage {
        func fail(_ why: String) -> UnderstudyError { UnderstudyError(.unsupported, "\(file.path): \(why)", at: .init(path: file.path)) }
        guard file.size >= VHDXSpec.batOffset else { throw fail("too small to be a VHDX (\(file.size) bytes)") }
        let identifier = try file.read(8 + 512, at: 0)
        guard identifier.starts(with: VHDXSpec.fileSignature) else { throw fail("no 'vhdxfile' signature at offset 0") }
        var warnings: [String] = []

        var headers: [(slot: Int, header: VHDXHeader)] = []
        for (slot, offset) in VHDXSpec.headerOffsets.enumerated() {
            if let header = VHDXHeader(try file.read(VHDXSpec.headerSize, at: offset)) {
                headers.append((slot, header))
            } else {
                warnings.append("header \(slot + 1) at \(offset) has a bad signature or CRC-32C")
            }
        }
        guard let current = headers.max(by: { $0.header.sequenceNumber < $1.header.sequenceNumber }) else {
            throw fail("neither VHDX header is valid (signature 'head' and CRC-32C)")
        }
        if headers.count == 2, headers[0].header.sequenceNumber == headers[1].header.sequenceNumber, headers[0].header != headers[1].header {
            warnings.append("both headers carry sequence number \(current.header.sequenceNumber) but differ")
        }
        let header = current.header
        guard header.logGuid.isZero else {
            throw fail("its log is not empty (LogGuid \(header.logGuid)): open it once in Hyper-V or QEMU to replay the log")
        }
        guard header.version == 1 else { throw fail("header version is \(header.version), not 1") }

        var tables: [VHDXRegionTable] = []
        for (i, offset) in VHDXSpec.regionTableOffsets.enumerated() {
            if let table = VHDXRegionTable(try file.read(VHDXSpec.regionTableSize, at: offset)) {
                tables.append(table)
            } else {
                warnings.append("region table \(i + 1) at \(offset) has a bad signature or CRC-32C")
            }
        }
        guard let regions = tables.first else { throw fail("neither region table is valid (signature 'regi' and CRC-32C)") }
        if tables.count == 2, tables[0] != tables[1] { warnings.append("the two region tables differ") }
        for entry in regions.entries where entry.required && entry.guid != VHDXSpec.batRegion && entry.guid != VHDXSpec.metadataRegion {
            throw fail("region \(entry.guid) is required but unknown")
        }
        guard let batRegion = regions.entry(VHDXSpec.batRegion) else { throw fail("the region table has no BAT region") }
        guard let metadataRegion = regions.entry(VHDXSpec.metadataRegion) else { throw fail("the region table has no metadata region") }
        for (name, region) in [("BAT", batRegion), ("metadata", metadataRegion)] {
            guard region.fileOffset >= VHDXSpec.mib, region.fileOffset % VHDXSpec.mib == 0, region.length % VHDXSpec.mib == 0,
                  Binary.end(region.fileOffset, region.length, within: file.size) != nil else {
                throw fail("the \(name) region (\(region.length) bytes at \(region.fileOffset)) is misaligned or beyond the file's end")
            }
        }

        let metadata = try VHDXMetadata.read(file, region: metadataRegion)
        if let problem = metadata.problems.first { throw fail(problem) }
        let layout = metadata.layout
        guard layout.batEntries * 8 <= batRegion.length else {
            throw fail("the BAT region (\(batRegion.length) bytes) is too small for \(layout.batEntries) entries")
        }
        let raw = try file.read(Int(layout.batEntries) * 8, at: batRegion.fileOffset)
        let bat = raw.withUnsafeBytes { buffer in
            (0..<Int(layout.batEntries)).map { UInt64(littleEndian: buffer.loadUnaligned(fromByteOffset: $0 * 8, as: UInt64.self)) }
        }
        return VHDXImage(creator: VHDXFileIdentifier.creator(of: identifier), header: header, headerSlot: current.slot,
                         regions: regions, batRegion: batRegion, metadataRegion: metadataRegion, metadata: metadata,
                         layout: layout, bat: bat, warnings: warnings)
    }

    /// Where the next block goes: past every region and present block, on a MiB boundary.
    func endOfBlocks(fileSize: Int64) -> Int64 {
        // Regions were checked to lie in the file; the log and blocks are only sane once
        // `VHDXCheck` passed, so their ends saturate rather than trap.
        func reach(_ start: Int64, _ length: Int64) -> Int64 { Binary.end(start, length, within: .max) ?? .max }
        var end = max(batRegion.fileOffset + batRegion.length, metadataRegion.fileOffset + metadataRegion.length,
                      reach(Binary.offset(header.logOffset), Int64(header.logLength)))
        for (i, raw) in bat.enumerated() where !layout.isBitmapEntry(i) {
            let entry = VHDXEntry(raw: raw)
            if entry.isPresent { end = max(end, reach(entry.fileOffset, layout.blockSize)) }
        }
        return VHDFields.roundUp(max(end, fileSize), VHDXSpec.mib)
    }

    var presentBlocks: Int {
        bat.indices.count { !layout.isBitmapEntry($0) && VHDXEntry(raw: bat[$0]).isPresent }
    }
}
