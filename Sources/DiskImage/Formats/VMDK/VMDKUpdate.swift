import BlockStore
import Foundation
import Core

extension VMDK {
    /// Rewrites changed grains of a monolithicSparse image in place (through the journaled file):
    /// an allocated grain is overwritten where it lies; an unallocated one that now holds data is
    /// appended at the end of the file and entered in the grain tables of both directories.
    /// Grain tables are read when first needed and kept, so the cost is O(changed grains).
    final class UpdateSink: BlockSink {
        let extent: Extent
        var file: any ImageFile { extent.file }
        private let grainBytes: Int
        private let perTable: Int
        /// Primary and redundant directories (the redundant one may be absent).
        private var directories: [(sector: UInt64, entries: [UInt32])]
        private var tables: [Int: [UInt32]] = [:]
        private var end: Int64

        /// nil if the image is not an uncompressed sparse extent (streams are rebuilt instead).
        init?(_ file: any ImageFile) throws {
            let extent = try Extent(file)
            guard !extent.header.isCompressed, !extent.header.hasMarkers, extent.fileHeader.gdOffset != Header.gdAtEnd else { return nil }
            self.extent = extent
            grainBytes = Int(extent.header.grainSize) * VMDK.sector
            perTable = Int(extent.header.gtesPerGT)
            directories = [(extent.header.gdOffset, try extent.directory())]
            if let rgd = extent.redundantDirectory { directories.append((rgd, try extent.directory(at: rgd))) }
            end = (file.size + Int64(VMDK.sector) - 1) / Int64(VMDK.sector)
        }

        func write(offset: Int64, data: UnsafeRawBufferPointer, frame: UnsafeRawBufferPointer?) throws {
            try forEachGrain(offset: offset, length: Int64(data.count)) { grain, inGrain, done, n in
                let slice = UnsafeRawBufferPointer(rebasing: data[done..<(done + n)])
                if let sector = try entry(grain) {
                    try file.write(slice, at: sector * Int64(VMDK.sector) + Int64(inGrain))
                } else if !isAllZero(slice) {
                    var whole = [UInt8](repeating: 0, count: grainBytes)
                    whole.withUnsafeMutableBytes { $0.baseAddress!.advanced(by: inGrain).copyMemory(from: slice.baseAddress!, byteCount: n) }
                    let sector = try allocate(Int64(grainBytes / VMDK.sector), offset: offset)
                    try file.write(whole, at: sector * Int64(VMDK.sector))
                    try setEntry(grain, to: UInt32(sector))
                }
            }
        }

        /// Zeros the range inside allocated grains; unallocated grains already read as zeros.
        func zero(offset: Int64, length: Int64) throws {
            try forEachGrain(offset: offset, length: length) { grain, inGrain, _, n in
                if let sector = try entry(grain) {
                    try writeZeros(to: file, offset: sector * Int64(VMDK.sector) + Int64(inGrain), length: Int64(n))
                }
            }
        }

        func finish() throws {
            try ImageDamage.verifyOwnOutput("VMDK", file, problems: try VMDK.check(file))
        }

        /// An allocated grain reads from the file, any other reads as zeros.
        func read(offset: Int64, into buffer: UnsafeMutableRawBufferPointer) throws {
            try forEachGrain(offset: offset, length: Int64(buffer.count)) { grain, inGrain, done, n in
                let piece = UnsafeMutableRawBufferPointer(rebasing: buffer[done..<(done + n)])
                if let sector = try entry(grain) {
                    try readFully(file, at: sector * Int64(VMDK.sector) + Int64(inGrain), into: piece)
                } else {
                    piece.initializeMemory(as: UInt8.self, repeating: 0)
                }
            }
            // Past the virtual size (a last block padded by the caller): zeros.
            let inside = Int(max(0, min(Int64(buffer.count), extent.virtualSize - offset)))
            if inside < buffer.count {
                UnsafeMutableRawBufferPointer(rebasing: buffer[inside...]).initializeMemory(as: UInt8.self, repeating: 0)
            }
        }

        /// Calls `body(grain, offset in grain, offset in range, length)` for each grain the range touches.
        private func forEachGrain(offset: Int64, length: Int64, _ body: (Int64, Int, Int, Int) throws -> Void) throws {
            let limit = min(offset + length, extent.virtualSize)
            var position = offset
            while position < limit {
                let grain = position / Int64(grainBytes)
                let inGrain = Int(position - grain * Int64(grainBytes))
                let n = Int(min(Int64(grainBytes - inGrain), limit - position))
                try body(grain, inGrain, Int(position - offset), n)
                position += Int64(n)
            }
        }

        /// The grain's sector, or nil if it is unallocated (0) or a zeroed-grain entry (1).
        private func entry(_ grain: Int64) throws -> Int64? {
            let (t, i) = (Int(grain / Int64(perTable)), Int(grain % Int64(perTable)))
            guard let table = try table(t) else { return nil }
            let value = table[i]
            if value == 0 || (value == 1 && extent.header.flags & Header.flagZeroedGTE != 0) { return nil }
            guard Int64(value) + extent.grainSectors <= extent.fileSectors else {
                throw UnderstudyError(.unsupported, "\(file.path): grain \(grain) points past the end of the file (sector \(value)); the image is damaged",
                                 at: .init(offset: grain * Int64(grainBytes), path: file.path))
            }
            return Int64(value)
        }

        private func table(_ t: Int) throws -> [UInt32]? {
            if let cached = tables[t] { return cached }
            let sector = directories[0].entries[t]
            guard sector != 0 else { return nil }
            let loaded = try extent.table(at: sector)
            tables[t] = loaded
            return loaded
        }

        /// Sets the entry in the table of every directory, creating the tables if missing.
        private func setEntry(_ grain: Int64, to sector: UInt32) throws {
            let (t, i) = (Int(grain / Int64(perTable)), Int(grain % Int64(perTable)))
            if try table(t) == nil {
                for d in directories.indices {
                    let at = try allocate(extent.gtSectors, offset: grain * Int64(grainBytes))
                    try writeZeros(to: file, offset: at * Int64(VMDK.sector), length: extent.gtSectors * Int64(VMDK.sector))
                    directories[d].entries[t] = UInt32(at)
                    var bytes = [UInt8](repeating: 0, count: 4)
                    put(UInt32(at), into: &bytes, at: 0)
                    try file.write(bytes, at: Int64(directories[d].sector) * Int64(VMDK.sector) + Int64(t * 4))
                }
                tables[t] = [UInt32](repeating: 0, count: perTable)
            }
            tables[t]![i] = sector
            var bytes = [UInt8](repeating: 0, count: 4)
            put(sector, into: &bytes, at: 0)
            for d in directories {
                try file.write(bytes, at: Int64(d.entries[t]) * Int64(VMDK.sector) + Int64(i * 4))
            }
        }

        /// Reserves `sectors` at the end of the file (grain offsets are u32 sectors: at most 2 TiB).
        private func allocate(_ sectors: Int64, offset: Int64) throws -> Int64 {
            guard end + sectors <= Int64(UInt32.max) else {
                throw UnderstudyError(.unsupported, "\(file.path): the VMDK extent would grow past 2 TiB, beyond what its 32-bit grain offsets can address",
                                 at: .init(offset: offset, path: file.path))
            }
            let at = end
            end += sectors
            return at
        }
    }
}
