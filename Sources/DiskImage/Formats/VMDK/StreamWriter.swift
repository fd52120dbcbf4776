import BlockStore
import Foundation
import Core

extension VMDK {
    /// Writes a streamOptimized image strictly front to back (so it can be packed into an OVA as
    /// it is written): header with gdOffset "at end", descriptor, then from sector 128 the non-zero
    /// grains as compressed grain markers, each grain table after its grains, and at `finish` the
    /// grain directory, footer and end-of-stream marker, the last two sectors being footer and EOS.
    ///
    /// Grains are compressed in batches on every core and written in order with one write per
    /// batch. Memory: one batch of raw grains and their compressed forms, the current grain table
    /// and the grain directory (4 bytes per 32 MiB of disk).
    final class StreamSink: BlockSink {
        static let batchGrains = 64
        let file: any ImageFile
        let capacity: Int64
        private var cutter: GrainCutter
        private var nextSector = VMDK.grainSectors  // grains start at 64 KiB, as VMware's streams do
        private var directory: [UInt32]
        private var table = [UInt32](repeating: 0, count: VMDK.gtesPerGT)
        private var tableIndex = -1
        private var header: Header
        /// Bytes of the disk held in stored grains (the OVF's populatedSize).
        private(set) var storedBytes: Int64 = 0

        // The batch: raw grains, then their markers.
        private var raw: [UInt8]
        private var grains: [(index: Int64, length: Int)] = []
        private var slots: [[UInt8]]
        private var slotLengths: [Int]
        private let compressors: [GrainCompressor]
        private var out: [UInt8] = []

        init(file: any ImageFile, diskSize: Int64, extentFile: String) throws {
            self.file = file
            capacity = diskSize / Int64(VMDK.sector)
            cutter = GrainCutter(diskSize: diskSize)
            directory = [UInt32](repeating: 0, count: SparseLayout(capacity: capacity).tables)
            raw = [UInt8](repeating: 0, count: Self.batchGrains * VMDK.grainBytes)
            compressors = (0..<Parallel.workers).map { _ in GrainCompressor() }
            let slotSize = Self.roundUp(Marker.grainHeaderSize + compressors[0].bound)
            slots = (0..<Self.batchGrains).map { _ in [UInt8](repeating: 0, count: slotSize) }
            slotLengths = Array(repeating: 0, count: Self.batchGrains)

            header = Header()
            header.version = 3
            header.flags = Header.flagNewlineTest | Header.flagRedundantGD | Header.flagCompressed | Header.flagMarkers
            header.capacity = UInt64(capacity)
            header.grainSize = UInt64(VMDK.grainSectors)
            header.descriptorOffset = UInt64(VMDK.descriptorOffset)
            header.descriptorSize = UInt64(VMDK.descriptorSectors)
            header.gtesPerGT = UInt32(VMDK.gtesPerGT)
            header.rgdOffset = 0
            header.gdOffset = Header.gdAtEnd
            header.overhead = UInt64(VMDK.grainSectors)
            header.compressAlgorithm = Header.compressionDeflate
            let descriptor = Descriptor(cid: Descriptor.newCID(), createType: "streamOptimized",
                                        capacitySectors: capacity, extentFile: extentFile)
            var start = header.encoded() + (try descriptor.sectors())
            start += [UInt8](repeating: 0, count: VMDK.grainBytes - start.count)
            try file.write(start, at: 0)
        }

        static func roundUp(_ n: Int) -> Int { Int(Binary.alignUp(Int64(n), Int64(VMDK.sector))) }

        func write(offset: Int64, data: UnsafeRawBufferPointer, frame: UnsafeRawBufferPointer?) throws {
            try cutter.add(offset: offset, data: data) { try take(grain: $0, $1) }
        }

        /// A new image already reads zeros everywhere it was not written.
        func zero(offset: Int64, length: Int64) throws {}

        func finish() throws {
            try cutter.flush { try take(grain: $0, $1) }
            try writeBatch()
            try writeTable()
            var tail: [UInt8] = []
            let gdSectors = SparseLayout(capacity: capacity).gdSectors
            tail += Marker.metadata(type: Marker.grainDirectory, sectors: UInt64(gdSectors))
            var gd = [UInt8](repeating: 0, count: Int(gdSectors) * VMDK.sector)
            for (i, entry) in directory.enumerated() { put(entry, into: &gd, at: i * 4) }
            tail += gd
            var footer = header
            footer.gdOffset = UInt64(nextSector + 1)
            tail += Marker.metadata(type: Marker.footer, sectors: 1)
            tail += footer.encoded()
            tail += Marker.metadata(type: Marker.endOfStream, sectors: 0)
            try append(tail)
            try ImageDamage.verifyOwnOutput("VMDK", file, problems: try VMDK.check(file))
        }

        private func take(grain: Int64, _ bytes: UnsafeRawBufferPointer) throws {
            if isAllZero(bytes) { return }
            let index = Int(grain / Int64(VMDK.gtesPerGT))
            if index != tableIndex {
                // A grain table follows its own grains: finish the batch and the table first.
                try writeBatch()
                try writeTable()
                tableIndex = index
            }
            if grains.count == Self.batchGrains { try writeBatch() }
            raw.withUnsafeMutableBytes {
                $0.baseAddress!.advanced(by: grains.count * VMDK.grainBytes).copyMemory(from: bytes.baseAddress!, byteCount: bytes.count)
            }
            grains.append((grain, bytes.count))
            storedBytes += Int64(bytes.count)
        }

        /// Compresses the batch on every core, then appends it in grain order with one write.
        private func writeBatch() throws {
            guard !grains.isEmpty else { return }
            let count = grains.count
            try raw.withUnsafeBytes { raw in
                try slots.withUnsafeMutableBufferPointer { slots in
                    try slotLengths.withUnsafeMutableBufferPointer { lengths in
                        try Parallel.forEach(count, workers: compressors.count) { worker, i in
                            let input = UnsafeRawBufferPointer(rebasing: raw[(i * VMDK.grainBytes)..<(i * VMDK.grainBytes + grains[i].length)])
                            try slots[i].withUnsafeMutableBytes { slot in
                                let n = try compressors[worker].compress(
                                    input, into: UnsafeMutableRawBufferPointer(rebasing: slot[Marker.grainHeaderSize...]))
                                slot.storeBytes(of: UInt64(grains[i].index * VMDK.grainSectors).littleEndian, toByteOffset: 0, as: UInt64.self)
                                slot.storeBytes(of: UInt32(n).littleEndian, toByteOffset: 8, as: UInt32.self)
                                let used = Marker.grainHeaderSize + n
                                let padded = Self.roundUp(used)
                                memset(slot.baseAddress! + used, 0, padded - used)
                                lengths[i] = padded
                            }
                        }
                    }
                }
            }
            out.removeAll(keepingCapacity: true)
            var sector = nextSector
            for i in 0..<count {
                table[Int(grains[i].index % Int64(VMDK.gtesPerGT))] = try sectorNumber(sector)
                out += slots[i][0..<slotLengths[i]]
                sector += Int64(slotLengths[i] / VMDK.sector)
            }
            grains.removeAll(keepingCapacity: true)
            try append(out)
        }

        /// Appends the current grain table behind a GT marker and records it in the directory.
        private func writeTable() throws {
            guard tableIndex >= 0 else { return }
            var bytes = Marker.metadata(type: Marker.grainTable, sectors: UInt64(VMDK.gtSectors))
            bytes += [UInt8](repeating: 0, count: VMDK.gtesPerGT * 4)
            for (i, entry) in table.enumerated() where entry != 0 { put(entry, into: &bytes, at: VMDK.sector + i * 4) }
            directory[tableIndex] = try sectorNumber(nextSector + 1)
            try append(bytes)
            for i in table.indices { table[i] = 0 }
            tableIndex = -1
        }

        private func append(_ bytes: [UInt8]) throws {
            try file.write(bytes, at: nextSector * Int64(VMDK.sector))
            nextSector += Int64(bytes.count / VMDK.sector)
        }

        /// Grain and table offsets are u32 sectors: the stream file cannot pass 2 TiB.
        private func sectorNumber(_ sector: Int64) throws -> UInt32 {
            guard sector < Int64(UInt32.max) else {
                throw UnderstudyError(.unsupported, "\(file.path): the VMDK stream would grow past 2 TiB, beyond what its 32-bit grain offsets can address",
                                 at: .init(path: file.path))
            }
            return UInt32(sector)
        }
    }
}
