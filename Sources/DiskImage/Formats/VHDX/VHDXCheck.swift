/// Structural checks of a VHDX beyond what parsing already demands: both header and region
/// table copies, the log's placement, BAT entry states, and payload blocks that lie inside the
/// file without overlapping the metadata or each other (`qemu-img check` looks only at EOF).
enum VHDXCheck {
    static func problems(_ image: VHDXImage, fileSize: Int64) -> [String] {
        var out = image.warnings
        let mib = VHDXSpec.mib
        let log = (start: Binary.offset(image.header.logOffset), length: Int64(image.header.logLength))
        let logEnd = Binary.end(log.start, log.length, within: .max) ?? .max
        if log.start % mib != 0 || log.length % mib != 0 || log.start < mib {
            out.append("the log (\(log.length) bytes at \(log.start)) is not MiB aligned past the header section")
        }
        if logEnd > fileSize { out.append("the log (\(log.length) bytes at \(log.start)) runs past the file's end \(fileSize)") }
        if image.header.sequenceNumber == .max { out.append("the header's sequence number is at its maximum: no newer header can follow it") }
        if fileSize % mib != 0 { out.append("file size \(fileSize) is not a whole number of MiB") }

        var regions = RegionMap { "payload block \($0)" }
        regions.add(0, mib, "the header section")
        regions.add(log.start, logEnd, "the log")
        regions.add(image.metadataRegion.fileOffset, image.metadataRegion.fileOffset + image.metadataRegion.length, "the metadata region")
        regions.add(image.batRegion.fileOffset, image.batRegion.fileOffset + image.batRegion.length, "the BAT region")
        let layout = image.layout
        var payload: Int64 = 0
        for (index, raw) in image.bat.enumerated() {
            let entry = VHDXEntry(raw: raw)
            if out.count > 40 { break }
            if raw & 0xF_FFF8 != 0 { out.append("BAT entry \(index) has reserved bits set (\(hex(raw)))") }
            if layout.isBitmapEntry(index) {
                if entry.state != VHDXSpec.blockNotPresent {
                    out.append("sector bitmap entry \(index) has state \(entry.state); a dynamic disk's must be 0 (not present)")
                }
                continue
            }
            defer { payload += 1 }
            switch entry.state {
            case VHDXSpec.blockFullyPresent:
                let start = entry.fileOffset, end = Binary.end(start, layout.blockSize, within: .max) ?? .max
                if end > fileSize { out.append("payload block \(payload) (\(start)..<\(end)) runs past the file's end \(fileSize)") }
                regions.add(start, end, block: Int(payload))
            case 0, 1, 2, 3:
                // FileOffsetMB is reserved in these states; Hyper-V refuses a zero block with one.
                if entry.fileOffset != 0 && entry.state == VHDXSpec.blockZero {
                    out.append("payload block \(payload) is in the zero state but has file offset \(entry.fileOffset)")
                }
            default:
                out.append("payload block \(payload) has state \(entry.state), invalid in a dynamic disk")
            }
        }
        return out + regions.overlaps(limit: Problems.limit)
    }

    private static func hex(_ v: UInt64) -> String { "0x" + String(v, radix: 16) }
}
