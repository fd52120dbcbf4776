import BlockStore
import Foundation
import Core

extension VMDK {
    /// Writes a monolithicSparse image in one pass: header, descriptor and both grain directories
    /// up front (every grain table's place is known from the disk size, as qemu and VMware lay
    /// them out), then each non-zero grain appended in disk order. The grain table being filled
    /// (2 KiB) is the only state; it goes to both copies when the writes move past its 32 MiB.
    /// Tables never filled stay holes of the file, which read as "unallocated".
    final class SparseSink: BlockSink {
        let file: any ImageFile
        let layout: SparseLayout
        private var cutter: GrainCutter
        private var nextSector: Int64
        private var table = [UInt32](repeating: 0, count: VMDK.gtesPerGT)
        private var tableIndex = -1
        private var padded = [UInt8](repeating: 0, count: VMDK.grainBytes)

        init(file: any ImageFile, diskSize: Int64, extentFile: String) throws {
            self.file = file
            let capacity = diskSize / Int64(VMDK.sector)
            layout = SparseLayout(capacity: capacity)
            cutter = GrainCutter(diskSize: diskSize)
            nextSector = layout.overhead
            try file.write(Self.header(layout).encoded(), at: 0)
            let descriptor = Descriptor(cid: Descriptor.newCID(), createType: "monolithicSparse",
                                        capacitySectors: capacity, extentFile: extentFile)
            try file.write(try descriptor.sectors(), at: VMDK.descriptorOffset * Int64(VMDK.sector))
            for redundant in [true, false] {
                var gd = [UInt8](repeating: 0, count: Int(layout.gdSectors) * VMDK.sector)
                for i in 0..<layout.tables { put(UInt32(layout.table(i, redundant: redundant)), into: &gd, at: i * 4) }
                try file.write(gd, at: (redundant ? layout.rgdOffset : layout.gdOffset) * Int64(VMDK.sector))
            }
            try file.truncate(to: layout.overhead * Int64(VMDK.sector))
        }

        static func header(_ layout: SparseLayout) -> Header {
            var h = Header()
            h.version = 1
            h.flags = Header.flagNewlineTest | Header.flagRedundantGD
            h.capacity = UInt64(layout.capacity)
            h.grainSize = UInt64(VMDK.grainSectors)
            h.descriptorOffset = UInt64(VMDK.descriptorOffset)
            h.descriptorSize = UInt64(VMDK.descriptorSectors)
            h.gtesPerGT = UInt32(VMDK.gtesPerGT)
            h.rgdOffset = UInt64(layout.rgdOffset)
            h.gdOffset = UInt64(layout.gdOffset)
            h.overhead = UInt64(layout.overhead)
            return h
        }

        func write(offset: Int64, data: UnsafeRawBufferPointer, frame: UnsafeRawBufferPointer?) throws {
            try cutter.add(offset: offset, data: data) { try store(grain: $0, $1) }
        }

        /// A new image already reads zeros everywhere it was not written.
        func zero(offset: Int64, length: Int64) throws {}

        func finish() throws {
            try cutter.flush { try store(grain: $0, $1) }
            try flushTable()
            try ImageDamage.verifyOwnOutput("VMDK", file, problems: try VMDK.check(file))
        }

        private func store(grain: Int64, _ bytes: UnsafeRawBufferPointer) throws {
            if isAllZero(bytes) { return }
            let index = Int(grain / Int64(VMDK.gtesPerGT))
            if index != tableIndex {
                try flushTable()
                tableIndex = index
                for i in table.indices { table[i] = 0 }
            }
            guard nextSector + VMDK.grainSectors <= Int64(UInt32.max) else {
                throw UnderstudyError(.unsupported, "\(file.path): the VMDK extent would grow past 2 TiB, beyond what its 32-bit grain offsets can address",
                                 at: .init(offset: grain * Int64(VMDK.grainBytes), path: file.path))
            }
            let at = nextSector * Int64(VMDK.sector)
            if bytes.count == VMDK.grainBytes {
                try file.write(bytes, at: at)
            } else {
                // The disk's last grain is short: store it whole, zero-padded, so it lies inside the file.
                padded.withUnsafeMutableBytes {
                    memset($0.baseAddress!, 0, $0.count)
                    $0.baseAddress!.copyMemory(from: bytes.baseAddress!, byteCount: bytes.count)
                }
                try file.write(padded, at: at)
            }
            table[Int(grain % Int64(VMDK.gtesPerGT))] = UInt32(nextSector)
            nextSector += VMDK.grainSectors
        }

        private func flushTable() throws {
            guard tableIndex >= 0 else { return }
            var bytes = [UInt8](repeating: 0, count: VMDK.gtesPerGT * 4)
            for (i, entry) in table.enumerated() where entry != 0 { put(entry, into: &bytes, at: i * 4) }
            for redundant in [true, false] {
                try file.write(bytes, at: layout.table(tableIndex, redundant: redundant) * Int64(VMDK.sector))
            }
            tableIndex = -1
        }
    }
}
