import BlockStore
import Core

/// Writes a dynamic VHDX, for a full build or an in-place update alike.
///
/// Data goes straight to the file (memory: the BAT, 8 bytes per block). A payload block is
/// allocated at the end of the file, on a MiB boundary, on its first non-zero write and marked
/// fully present; its unwritten parts stay holes that read as zeros. Every other payload entry
/// says PAYLOAD_BLOCK_ZERO — not NOT_PRESENT, whose contents the spec leaves undefined.
/// `finish` writes the BAT (an update: only the 4 KiB pages that changed), extends the file to a
/// whole MiB past the last block, (an update) writes the next header with new write GUIDs, and
/// checks the result before the caller publishes it.
final class VHDXSink: BlockSink {
    let file: any ImageFile
    let layout: VHDXLayout
    private var bat: [UInt64]
    private let batOffset: Int64
    private var nextBlock: Int64
    /// The image's current header and its slot (nil for a new image, whose headers are final).
    private let current: (header: VHDXHeader, slot: Int)?
    /// BAT pages of 512 entries to rewrite (updates only).
    private var dirtyPages = Set<Int>()
    private var wroteData = false

    /// A new image in the empty `file`: identifier, headers, region tables and metadata now.
    static func create(_ file: any ImageFile, diskSize: Int64, logicalSectorSize: Int) throws -> VHDXSink {
        let metadata = VHDXMetadata(blockSize: UInt32(VHDXSpec.blockSize(forDiskSize: diskSize)), virtualSize: UInt64(diskSize),
                                    logicalSectorSize: UInt32(logicalSectorSize))
        if let problem = metadata.problems.first {
            throw UnderstudyError(.unsupported, "cannot write this disk as VHDX: \(problem)", at: .init(path: file.path))
        }
        let layout = metadata.layout
        let regions = VHDXRegionTable(entries: [
            .init(guid: VHDXSpec.batRegion, fileOffset: VHDXSpec.batOffset, length: layout.batLength, required: true),
            .init(guid: VHDXSpec.metadataRegion, fileOffset: VHDXSpec.metadataOffset, length: VHDXSpec.metadataLength, required: true),
        ]).encoded()
        try file.write(VHDXFileIdentifier.encoded(creator: VHDXSpec.creator), at: 0)
        let fileWrite = VHDXGUID.random(), dataWrite = VHDXGUID.random()
        for (i, offset) in VHDXSpec.headerOffsets.enumerated() {
            try file.write(VHDXHeader(sequenceNumber: UInt64(i + 1), fileWriteGuid: fileWrite, dataWriteGuid: dataWrite).encoded(), at: offset)
        }
        for offset in VHDXSpec.regionTableOffsets { try file.write(regions, at: offset) }
        try file.write(metadata.encoded(), at: VHDXSpec.metadataOffset)
        return VHDXSink(file: file, layout: layout, bat: makeBAT(layout), batOffset: VHDXSpec.batOffset,
                        nextBlock: VHDXSpec.batOffset + layout.batLength, current: nil)
    }

    /// Opens a parsed image for an update.
    static func update(_ file: any ImageFile, image: VHDXImage) -> VHDXSink {
        VHDXSink(file: file, layout: image.layout, bat: image.bat, batOffset: image.batRegion.fileOffset,
                 nextBlock: image.endOfBlocks(fileSize: file.size), current: (image.header, image.headerSlot))
    }

    /// Every payload entry zero, every sector bitmap entry not present.
    private static func makeBAT(_ layout: VHDXLayout) -> [UInt64] {
        (0..<Int(layout.batEntries)).map { layout.isBitmapEntry($0) ? VHDXSpec.blockNotPresent : VHDXEntry.zero.raw }
    }

    private init(file: any ImageFile, layout: VHDXLayout, bat: [UInt64], batOffset: Int64, nextBlock: Int64,
                 current: (header: VHDXHeader, slot: Int)?) {
        self.file = file; self.layout = layout; self.bat = bat; self.batOffset = batOffset
        self.nextBlock = nextBlock; self.current = current
    }

    func write(offset: Int64, data: UnsafeRawBufferPointer, frame: UnsafeRawBufferPointer?) throws {
        try forEachPiece(offset: offset, length: Int64(data.count)) { block, inBlock, done, count in
            let piece = UnsafeRawBufferPointer(rebasing: data[Int(done)..<Int(done + count)])
            // A zero piece of a block that is not present already reads as zeros: keep it sparse.
            guard let start = try dataStart(of: block, allocating: !isAllZero(piece)) else { return }
            try file.write(piece, at: start + inBlock)
            wroteData = true
        }
    }

    func zero(offset: Int64, length: Int64) throws {
        try forEachPiece(offset: offset, length: length) { block, inBlock, _, count in
            guard let start = try dataStart(of: block, allocating: false) else { return }
            try writeZeros(to: file, offset: start + inBlock, length: count)
            wroteData = true
        }
    }

    func finish() throws {
        if current == nil {
            try file.write(encodeBAT(0..<bat.count), at: batOffset)
        } else {
            for page in dirtyPages.sorted() {
                let range = (page * 512)..<min(bat.count, (page + 1) * 512)
                try file.write(encodeBAT(range), at: batOffset + Int64(range.lowerBound) * 8)
            }
        }
        if file.size < nextBlock { try file.truncate(to: nextBlock) }
        if let current, wroteData || !dirtyPages.isEmpty {
            // The spec asks writers to change FileWriteGuid and DataWriteGuid on first write after
            // opening; the new header goes in the other slot with the next sequence number.
            var header = current.header
            header.sequenceNumber += 1
            header.fileWriteGuid = .random()
            header.dataWriteGuid = .random()
            try file.write(header.encoded(), at: VHDXSpec.headerOffsets[1 - current.slot])
        }
        try VHDXFormat.verify(file)
    }

    /// A fully present block reads from the file; every other state reads as zeros, as QEMU reads
    /// a disk without a parent.
    func read(offset: Int64, into buffer: UnsafeMutableRawBufferPointer) throws {
        try forEachPiece(offset: offset, length: Int64(buffer.count)) { block, inBlock, done, count in
            let piece = UnsafeMutableRawBufferPointer(rebasing: buffer[Int(done)..<Int(done + count)])
            let entry = VHDXEntry(raw: bat[layout.batIndex(ofBlock: block)])
            if entry.isPresent {
                try readFully(file, at: entry.fileOffset + inBlock, into: piece)
            } else {
                piece.initializeMemory(as: UInt8.self, repeating: 0)
            }
        }
    }

    /// Calls `body(block, offsetInBlock, offsetInRange, count)` for each block the range touches.
    private func forEachPiece(offset: Int64, length: Int64, _ body: (Int64, Int64, Int64, Int64) throws -> Void) throws {
        guard offset >= 0, offset + length <= layout.payloadBlocks * layout.blockSize else {
            throw UnderstudyError(.invalidArgument, "write at \(offset)+\(length) lies beyond the VHDX's \(layout.virtualSize) bytes",
                             at: .init(offset: offset, path: file.path))
        }
        var done: Int64 = 0
        while done < length {
            let at = offset + done
            let inBlock = at % layout.blockSize
            let count = min(length - done, layout.blockSize - inBlock)
            try body(at / layout.blockSize, inBlock, done, count)
            done += count
        }
    }

    /// The file offset of `block`'s data, allocating it at the end if asked; nil if it is not
    /// present and stays so (then it is made to read as zeros, whatever state it had).
    private func dataStart(of block: Int64, allocating: Bool) throws -> Int64? {
        let index = layout.batIndex(ofBlock: block)
        let entry = VHDXEntry(raw: bat[index])
        if entry.isPresent { return entry.fileOffset }
        guard allocating else {
            if entry.raw != VHDXEntry.zero.raw { set(index, VHDXEntry.zero) }
            return nil
        }
        let start = nextBlock
        set(index, .present(at: start))
        nextBlock += layout.blockSize
        return start
    }

    private func set(_ index: Int, _ entry: VHDXEntry) {
        bat[index] = entry.raw
        dirtyPages.insert(index / 512)
    }

    private func encodeBAT(_ range: Range<Int>) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: range.count * 8)
        out.withUnsafeMutableBytes { raw in
            for (i, entry) in bat[range].enumerated() { raw.storeBytes(of: entry.littleEndian, toByteOffset: i * 8, as: UInt64.self) }
        }
        return out
    }
}
