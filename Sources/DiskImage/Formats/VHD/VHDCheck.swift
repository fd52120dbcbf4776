/// Structural checks of a VHD (qemu-img cannot check vpc images, so this is the only one):
/// checksums, the fields QEMU and Azure insist on, and a BAT whose blocks lie inside the file
/// and do not overlap the metadata or each other.
enum VHDCheck {
    static func problems(_ image: VHDImage, file: any ImageFile) -> [String] {
        var out: [String] = []
        let footer = image.footer
        let stored = VHDFields(image.footerBytes, bigEndian: true).get(UInt32.self, 64)
        let expected = VHDFooter.expectedChecksum(of: image.footerBytes)
        if stored != expected {
            out.append("footer checksum is \(hex(stored)), expected \(hex(expected)) (QEMU refuses the image)")
        }
        if footer.version != VHDSpec.version { out.append("footer version is \(hex(footer.version)), expected 0x00010000") }
        if footer.features & VHDSpec.features == 0 { out.append("footer features \(hex(footer.features)) lack the reserved bit 0x2") }
        if footer.currentSize % 512 != 0 { out.append("current size \(footer.currentSize) is not a whole number of sectors") }
        if footer.currentSize > UInt64(VHDSpec.maxSize) { out.append("current size \(footer.currentSize) exceeds the 2040 GiB VHD maximum") }

        switch footer.type {
        case .fixed?:
            if footer.dataOffset != .max { out.append("fixed disk's data offset is \(footer.dataOffset), expected all ones") }
            if UInt64(image.footerOffset) != footer.currentSize {
                out.append("fixed disk holds \(image.footerOffset) bytes of data but its footer says \(footer.currentSize)")
            }
        case .dynamic?, .differencing?:
            out += dynamicProblems(image, file: file)
        case nil:
            out.append("unknown disk type \(footer.diskType)")
        }
        return out
    }

    private static func dynamicProblems(_ image: VHDImage, file: any ImageFile) -> [String] {
        var out: [String] = []
        let footer = image.footer
        if let copy = try? file.read(VHDSpec.footerSize, at: 0), copy != image.footerBytes {
            out.append("the footer copy at offset 0 differs from the footer at the end")
        }
        guard let header = image.header else { return out + ["no dynamic disk header"] }
        let stored = VHDFields(image.headerBytes, bigEndian: true).get(UInt32.self, 36)
        let expected = VHDDynamicHeader.expectedChecksum(of: image.headerBytes)
        if stored != expected { out.append("dynamic header checksum is \(hex(stored)), expected \(hex(expected))") }
        if header.version != VHDSpec.dynamicHeaderVersion { out.append("dynamic header version is \(hex(header.version))") }
        let blockSize = Int64(header.blockSize)
        guard blockSize >= 512, blockSize & (blockSize - 1) == 0 else {
            return out + ["block size \(header.blockSize) is not a power of two of at least 512"]
        }
        // (A size past the VHD maximum is reported above; the count is meaningless then.)
        let needed = Binary.divideUp(min(Binary.offset(footer.currentSize), VHDSpec.maxSize), blockSize)
        if footer.currentSize <= UInt64(VHDSpec.maxSize), Int64(header.maxTableEntries) != needed {
            out.append("BAT has \(header.maxTableEntries) entries for a disk needing \(needed) (Azure requires exactly that many)")
        }

        // Regions in use, sorted by start: metadata first, then every block; none may overlap.
        let tableEnd = Int64(header.tableOffset) + header.tableBytes
        var regions = RegionMap { "block \($0)" }
        regions.add(0, Int64(VHDSpec.footerSize), "the footer copy")
        regions.add(Int64(footer.dataOffset), Int64(footer.dataOffset) + Int64(VHDSpec.dynamicHeaderSize), "the dynamic header")
        regions.add(Int64(header.tableOffset), tableEnd, "the BAT")
        let stride = header.bitmapBytes + blockSize
        // Entries past the disk's last block address nothing and a count that differs is reported
        // above: examining only the disk's blocks bounds the work by the disk (≤ 2040 GiB: 1 Mi
        // entries), not by a damaged count.
        for (block, entry) in image.bat.prefix(Int(needed)).enumerated() where entry != VHDSpec.unallocated {
            let start = Int64(entry) * 512
            if start + stride > image.footerOffset, out.count < Problems.limit {
                out.append("block \(block) at \(start) ends at \(start + stride), past the footer at \(image.footerOffset)")
            }
            regions.add(start, start + stride, block: block)
        }
        return out + regions.overlaps(limit: Problems.limit)
    }

    private static func hex<T: FixedWidthInteger>(_ v: T) -> String { "0x" + String(v, radix: 16) }
}
