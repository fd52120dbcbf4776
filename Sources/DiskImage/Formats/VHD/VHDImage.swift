import BlockStore
import Core

/// An existing VHD parsed from its file: footer, and for dynamic disks the header and BAT.
/// Used by in-place updates, `info` and `check`.
struct VHDImage {
    var footer: VHDFooter
    /// The footer's raw bytes as stored at the end of the file.
    var footerBytes: [UInt8]
    /// Where the footer sits: the end of the file minus 512.
    var footerOffset: Int64
    var header: VHDDynamicHeader?
    var headerBytes: [UInt8] = []
    /// Sector offsets of the blocks (dynamic disks only).
    var bat: [UInt32] = []

    var type: VHDSpec.DiskType? { footer.type }

    /// Reads the footer (the copy at offset 0 if the end's is missing), the dynamic header and BAT.
    /// Throws if the file is not a VHD we can address; soundness is `check`'s job.
    static func read(_ file: any ImageFile) throws -> VHDImage {
        let size = file.size
        guard size >= Int64(VHDSpec.footerSize) else {
            throw UnderstudyError(.unsupported, "\(file.path) is too small to be a VHD (\(size) bytes)", at: .init(path: file.path))
        }
        let footerOffset = size - Int64(VHDSpec.footerSize)
        var footerBytes = try file.read(VHDSpec.footerSize, at: footerOffset)
        var footer = VHDFooter(footerBytes)
        if footer == nil {
            // A dynamic disk's end may have been cut off; its first sector holds the same footer.
            footerBytes = try file.read(VHDSpec.footerSize, at: 0)
            footer = VHDFooter(footerBytes)
        }
        guard let footer else {
            throw UnderstudyError(.unsupported, "\(file.path) has no VHD footer (no 'conectix' cookie at its end or start)", at: .init(path: file.path))
        }
        var image = VHDImage(footer: footer, footerBytes: footerBytes, footerOffset: footerOffset)
        guard footer.type == .dynamic || footer.type == .differencing else { return image }

        guard Binary.end(Binary.offset(footer.dataOffset), Int64(VHDSpec.dynamicHeaderSize), within: size) != nil else {
            throw UnderstudyError(.unsupported, "\(file.path): the dynamic header offset \(footer.dataOffset) lies beyond the file's end", at: .init(path: file.path))
        }
        image.headerBytes = try file.read(VHDSpec.dynamicHeaderSize, at: Int64(footer.dataOffset))
        guard let header = VHDDynamicHeader(image.headerBytes) else {
            throw UnderstudyError(.unsupported, "\(file.path): no dynamic disk header ('cxsparse') at offset \(footer.dataOffset)", at: .init(path: file.path))
        }
        guard Binary.end(Binary.offset(header.tableOffset), Int64(header.maxTableEntries) * 4, within: size) != nil else {
            throw UnderstudyError(.unsupported, "\(file.path): the BAT (\(header.maxTableEntries) entries at \(header.tableOffset)) does not fit in the file",
                             at: .init(path: file.path))
        }
        image.header = header
        let raw = try file.read(Int(header.maxTableEntries) * 4, at: Int64(header.tableOffset))
        image.bat = raw.withUnsafeBytes { buffer in
            (0..<Int(header.maxTableEntries)).map { UInt32(bigEndian: buffer.loadUnaligned(fromByteOffset: $0 * 4, as: UInt32.self)) }
        }
        return image
    }

    /// Where the next block goes: past the BAT and every allocated block (as QEMU computes it).
    var endOfBlocks: Int64 {
        guard let header else { return footerOffset }
        var end = Int64(header.tableOffset) + header.tableBytes
        let stride = header.bitmapBytes + Int64(header.blockSize)
        for entry in bat where entry != VHDSpec.unallocated { end = max(end, Int64(entry) * 512 + stride) }
        return end
    }

    var allocatedBlocks: Int { bat.count { $0 != VHDSpec.unallocated } }
}
