import BlockStore
import Foundation
import Core

extension VMDK {
    /// A sparse extent read back through an `ImageFile`: the header that rules (the footer's,
    /// when the header says the grain directory is at the end), the embedded descriptor, and
    /// access to the grain directories and tables. Used by info, check and in-place updates.
    struct Extent {
        let file: any ImageFile
        /// The header at sector 0.
        let fileHeader: Header
        /// The header in force: the footer's for a stream whose header has gdOffset "at end".
        let header: Header
        /// Sector of the footer, if the image has one.
        let footerSector: Int64?
        let descriptor: ParsedDescriptor?

        var path: String { file.path }
        var fileSectors: Int64 { file.size / Int64(VMDK.sector) }
        var grainSectors: Int64 { Int64(header.grainSize) }
        var createType: String {
            descriptor?.values["createType"] ?? (header.isCompressed ? "streamOptimized" : "monolithicSparse")
        }
        /// Number of grain tables (= grain directory entries) the capacity needs.
        var tables: Int {
            let span = UInt64(header.gtesPerGT) * header.grainSize
            return Int((header.capacity + span - 1) / span)
        }
        var gdSectors: Int64 { (Int64(tables) * 4 + Int64(VMDK.sector) - 1) / Int64(VMDK.sector) }
        var gtSectors: Int64 { (Int64(header.gtesPerGT) * 4 + Int64(VMDK.sector) - 1) / Int64(VMDK.sector) }

        /// Reads and sanity-checks what every later step relies on; throws a readable error if the
        /// file is not a sparse extent we can interpret.
        init(_ file: any ImageFile) throws {
            self.file = file
            let path = file.path
            guard file.size >= Int64(VMDK.sector), let first = Header(decoding: try file.read(VMDK.sector, at: 0)) else {
                throw UnderstudyError(.unsupported, "\(path) is not a VMDK sparse extent (no KDMV header)", at: .init(offset: 0, path: path))
            }
            fileHeader = first
            if first.gdOffset == Header.gdAtEnd {
                // The footer (a header copy with the real gdOffset) sits between a footer marker
                // and the end-of-stream marker, the last three sectors (qemu reads it there too).
                guard file.size >= Int64(4 * VMDK.sector), file.size % Int64(VMDK.sector) == 0 else {
                    throw UnderstudyError(.unsupported, "\(path): grain directory is at the end, but the file is too short or not whole sectors for a footer",
                                     at: .init(path: path))
                }
                let tailOffset = file.size - Int64(3 * VMDK.sector)
                let tail = try file.read(3 * VMDK.sector, at: tailOffset)
                let marker = Array(tail[0..<VMDK.sector]), eos = Array(tail[(2 * VMDK.sector)...])
                guard get(UInt32.self, marker, at: 8) == 0, get(UInt32.self, marker, at: 12) == Marker.footer,
                      let footer = Header(decoding: Array(tail[VMDK.sector..<(2 * VMDK.sector)])) else {
                    throw UnderstudyError(.unsupported, "\(path): grain directory is at the end, but no footer marker and footer precede the last sector",
                                     at: .init(offset: tailOffset, path: path))
                }
                guard eos.allSatisfy({ $0 == 0 }) else {
                    throw UnderstudyError(.unsupported, "\(path): the last sector is not an end-of-stream marker", at: .init(offset: file.size - 512, path: path))
                }
                guard footer.gdOffset != Header.gdAtEnd else {
                    throw UnderstudyError(.unsupported, "\(path): the footer does not say where the grain directory is", at: .init(path: path))
                }
                header = footer
                footerSector = tailOffset / Int64(VMDK.sector) + 1
            } else {
                header = first
                footerSector = nil
            }
            guard header.grainSize > 0, header.grainSize & (header.grainSize - 1) == 0, header.grainSize <= 0x20_0000 else {
                throw UnderstudyError(.unsupported, "\(path): grain size \(header.grainSize) sectors is not a power of two up to 1 GiB", at: .init(path: path))
            }
            guard header.gtesPerGT > 0, header.gtesPerGT <= 4096, header.capacity > 0, header.capacity <= UInt64(1) << 40 else {
                throw UnderstudyError(.unsupported, "\(path): implausible header (capacity \(header.capacity) sectors, \(header.gtesPerGT) entries per grain table)",
                                 at: .init(path: path))
            }
            var text: ParsedDescriptor? = nil
            let start = Binary.offset(header.descriptorOffset), count = Binary.offset(header.descriptorSize)
            if start > 0, count > 0, count <= 2048, Binary.end(start, count, within: file.size / Int64(VMDK.sector)) != nil {
                text = ParsedDescriptor(try file.read(Int(count) * VMDK.sector, at: start * Int64(VMDK.sector)))
            }
            descriptor = text
        }

        /// The grain directory at `sector` (the primary one unless told otherwise).
        func directory(at sector: UInt64? = nil) throws -> [UInt32] {
            try entries(tables, at: Binary.offset(sector ?? header.gdOffset))
        }

        /// The grain table at `sector`.
        func table(at sector: UInt32) throws -> [UInt32] {
            try entries(Int(header.gtesPerGT), at: Int64(sector))
        }

        /// `count` little-endian u32 entries at `sector`, read in one go (checked to lie inside
        /// the file before anything is allocated: both numbers come from the file).
        private func entries(_ count: Int, at sector: Int64) throws -> [UInt32] {
            let offset = Binary.product(sector, Int64(VMDK.sector)) ?? .max
            try file.checkRange(Int64(count) * 4, at: offset)
            var out = [UInt32](repeating: 0, count: count)
            let n = try out.withUnsafeMutableBytes { try file.read(into: $0.baseAddress!, count: $0.count, at: offset) }
            guard n == count * 4 else {
                throw UnderstudyError(.unsupported, "\(path) is truncated: wanted \(count * 4) bytes of tables at offset \(offset), the file ends at \(file.size)",
                                 at: .init(offset: offset, path: path))
            }
            #if _endian(big)
            out = out.map { UInt32(littleEndian: $0) }
            #endif
            return out
        }

        /// The redundant grain directory's sector, if the header declares one.
        var redundantDirectory: UInt64? {
            header.flags & Header.flagRedundantGD != 0 && header.rgdOffset != 0 ? header.rgdOffset : nil
        }

        /// The embedded descriptor's sectors, if the header places it inside the file.
        var descriptorSectors: Range<Int64>? {
            let start = Binary.offset(header.descriptorOffset)
            guard start > 0, let end = Binary.end(start, Binary.offset(header.descriptorSize), within: fileSectors) else { return nil }
            return start..<end
        }

        /// Virtual size in bytes.
        var virtualSize: Int64 { Int64(header.capacity) * Int64(VMDK.sector) }
    }
}
