import BlockStore
import Core

/// Writes a dynamic VHD, for a full build or an in-place update alike.
///
/// Data goes straight to the file (memory: the BAT only, 4 bytes per 2 MiB). A block is
/// allocated at the end of the file on its first non-zero write — sector bitmap of all ones
/// (QEMU does the same; the bitmap only matters for differencing disks), then the data, whose
/// unwritten parts stay holes that read as zeros. Blocks never written stay unallocated.
/// `finish` writes the BAT (a full build: all of it; an update: only the sectors that changed)
/// and the footer after the last block, where an update's first new block overwrote the old one,
/// then checks the result before the caller publishes it.
final class VHDDynamicSink: BlockSink {
    let file: any ImageFile
    let header: VHDDynamicHeader
    let footer: [UInt8]
    let diskSize: Int64
    private var bat: [UInt32]
    private let blockSize: Int64
    private let bitmapBytes: Int64
    /// Where the next block (and the footer) goes.
    private var nextBlock: Int64
    /// Where the footer was when we started (nil for a new image: it has none yet).
    private let oldFooterOffset: Int64?
    /// BAT sectors to rewrite (updates only; a full build writes the whole table).
    private var dirtySectors = Set<Int>()

    /// A new image of `diskSize` bytes in the empty `file`: footer copy and header now, blocks as
    /// they come.
    static func create(_ file: any ImageFile, diskSize: Int64) throws -> VHDDynamicSink {
        let entries = (diskSize + VHDSpec.blockSize - 1) / VHDSpec.blockSize
        let header = VHDDynamicHeader(tableOffset: UInt64(VHDSpec.batOffset), maxTableEntries: UInt32(entries),
                                      blockSize: UInt32(VHDSpec.blockSize))
        let footer = VHDFooter(size: diskSize, type: .dynamic, dataOffset: UInt64(VHDSpec.footerSize)).encoded()
        try file.write(footer, at: 0)
        try file.write(header.encoded(), at: Int64(VHDSpec.footerSize))
        return VHDDynamicSink(file: file, header: header, footer: footer, diskSize: diskSize,
                              bat: Array(repeating: VHDSpec.unallocated, count: Int(entries)),
                              nextBlock: VHDSpec.batOffset + header.tableBytes, oldFooterOffset: nil)
    }

    /// Opens a parsed dynamic image for an update. The footer keeps its bytes; it only moves.
    /// New blocks start on a sector (the BAT holds sector numbers), even after a file whose
    /// length is not a whole number of sectors (found by the fuzz run: a file extended by 63,538
    /// bytes had its new block entered 50 bytes before where it was written).
    static func update(_ file: any ImageFile, image: VHDImage) -> VHDDynamicSink {
        VHDDynamicSink(file: file, header: image.header!, footer: image.footerBytes, diskSize: Int64(image.footer.currentSize),
                       bat: image.bat, nextBlock: VHDFields.roundUp(max(image.endOfBlocks, image.footerOffset), 512),
                       oldFooterOffset: image.footerOffset)
    }

    private init(file: any ImageFile, header: VHDDynamicHeader, footer: [UInt8], diskSize: Int64, bat: [UInt32],
                 nextBlock: Int64, oldFooterOffset: Int64?) {
        self.file = file; self.header = header; self.footer = footer; self.diskSize = diskSize; self.bat = bat
        self.nextBlock = nextBlock; self.oldFooterOffset = oldFooterOffset
        blockSize = Int64(header.blockSize)
        bitmapBytes = header.bitmapBytes
    }

    func write(offset: Int64, data: UnsafeRawBufferPointer, frame: UnsafeRawBufferPointer?) throws {
        try forEachPiece(offset: offset, length: Int64(data.count)) { block, inBlock, done, count in
            let piece = UnsafeRawBufferPointer(rebasing: data[Int(done)..<Int(done + count)])
            // A zero piece of an unallocated block already reads as zeros: leave the block sparse.
            guard let start = try dataStart(of: block, allocating: !isAllZero(piece)) else { return }
            try file.write(piece, at: start + inBlock)
        }
    }

    func zero(offset: Int64, length: Int64) throws {
        try forEachPiece(offset: offset, length: length) { block, inBlock, _, count in
            guard let start = try dataStart(of: block, allocating: false) else { return }
            try writeZeros(to: file, offset: start + inBlock, length: count)
        }
    }

    func finish() throws {
        if oldFooterOffset == nil {
            try file.write(encodeBAT(0..<bat.count), at: Int64(header.tableOffset))
        } else {
            let perSector = 512 / 4
            for sector in dirtySectors.sorted() {
                let range = (sector * perSector)..<min(bat.count, (sector + 1) * perSector)
                try file.write(encodeBAT(range), at: Int64(header.tableOffset) + Int64(sector) * 512)
            }
        }
        if nextBlock != oldFooterOffset { try file.write(footer, at: nextBlock) }
        try VHDFormat.verify(file)
    }

    /// Like QEMU, reads an allocated block's data whatever its sector bitmap says (the bitmap
    /// only matters to differencing disks); an unallocated block reads as zeros.
    func read(offset: Int64, into buffer: UnsafeMutableRawBufferPointer) throws {
        try forEachPiece(offset: offset, length: Int64(buffer.count)) { block, inBlock, done, count in
            let piece = UnsafeMutableRawBufferPointer(rebasing: buffer[Int(done)..<Int(done + count)])
            if bat[block] == VHDSpec.unallocated {
                piece.initializeMemory(as: UInt8.self, repeating: 0)
            } else {
                try readFully(file, at: Int64(bat[block]) * 512 + bitmapBytes + inBlock, into: piece)
            }
        }
    }

    /// Calls `body(block, offsetInBlock, offsetInRange, count)` for each block the range touches.
    private func forEachPiece(offset: Int64, length: Int64, _ body: (Int, Int64, Int64, Int64) throws -> Void) throws {
        guard offset >= 0, offset + length <= Int64(bat.count) * blockSize else {
            throw UnderstudyError(.invalidArgument, "write at \(offset)+\(length) lies beyond the VHD's \(bat.count) blocks",
                             at: .init(offset: offset, path: file.path))
        }
        var done: Int64 = 0
        while done < length {
            let at = offset + done
            let inBlock = at % blockSize
            let count = min(length - done, blockSize - inBlock)
            try body(Int(at / blockSize), inBlock, done, count)
            done += count
        }
    }

    /// The file offset of `block`'s data, allocating the block at the end if asked; nil if it is
    /// unallocated and stays so.
    private func dataStart(of block: Int, allocating: Bool) throws -> Int64? {
        if bat[block] != VHDSpec.unallocated { return Int64(bat[block]) * 512 + bitmapBytes }
        guard allocating else { return nil }
        let start = nextBlock
        guard start / 512 < Int64(VHDSpec.unallocated) else {
            throw UnderstudyError(.unsupported, "\(file.path) outgrew the 2 TiB a VHD's 32-bit block offsets can address", at: .init(path: file.path))
        }
        try file.write([UInt8](repeating: 0xFF, count: Int(bitmapBytes)), at: start)
        bat[block] = UInt32(start / 512)
        dirtySectors.insert(block * 4 / 512)
        nextBlock += bitmapBytes + blockSize
        return start + bitmapBytes
    }

    /// BAT entries `range`, big-endian; a range reaching the table's end is padded with
    /// 0xFF to the sector (the on-disk table is whole sectors).
    private func encodeBAT(_ range: Range<Int>) -> [UInt8] {
        var out = [UInt8](repeating: 0xFF, count: Int(VHDFields.roundUp(Int64(range.count) * 4, 512)))
        out.withUnsafeMutableBytes { raw in
            for (i, entry) in bat[range].enumerated() { raw.storeBytes(of: entry.bigEndian, toByteOffset: i * 4, as: UInt32.self) }
        }
        return out
    }
}
