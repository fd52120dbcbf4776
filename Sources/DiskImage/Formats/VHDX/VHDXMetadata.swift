import BlockStore
import Core

/// The metadata region (2.6): a 64 KiB table of items, then the items themselves. We write the
/// five a dynamic disk requires, packed at 64 KiB as Hyper-V and QEMU place them.
struct VHDXMetadata: Equatable {
    var blockSize: UInt32
    var leaveBlocksAllocated = false
    var hasParent = false
    var virtualSize: UInt64
    /// The SCSI page 83 identifier the guest sees: unique per disk.
    var page83: VHDXGUID
    var logicalSectorSize: UInt32
    var physicalSectorSize: UInt32 = 4096

    // Table entry flags (2.6.1.2).
    static let isVirtualDisk: UInt32 = 1 << 1
    static let isRequired: UInt32 = 1 << 2

    init(blockSize: UInt32, virtualSize: UInt64, logicalSectorSize: UInt32, page83: VHDXGUID = .random()) {
        self.blockSize = blockSize; self.virtualSize = virtualSize; self.logicalSectorSize = logicalSectorSize
        self.page83 = page83
    }

    var layout: VHDXLayout {
        VHDXLayout(virtualSize: Int64(virtualSize), blockSize: Int64(blockSize), logicalSectorSize: Int64(logicalSectorSize))
    }

    /// The region's used bytes: table, then items from 64 KiB on.
    func encoded() -> [UInt8] {
        var items = VHDFields(count: 40, bigEndian: false)
        items.set(blockSize, 0)
        items.set(UInt32((leaveBlocksAllocated ? 1 : 0) | (hasParent ? 2 : 0)), 4)
        items.set(virtualSize, 8)
        items.put(page83.bytes, 16)
        items.set(logicalSectorSize, 32)
        items.set(physicalSectorSize, 36)
        let entries: [(VHDXGUID, Int, Int, UInt32)] = [
            (VHDXSpec.fileParameters, 0, 8, Self.isRequired),
            (VHDXSpec.virtualDiskSize, 8, 8, Self.isVirtualDisk | Self.isRequired),
            (VHDXSpec.page83Data, 16, 16, Self.isVirtualDisk | Self.isRequired),
            (VHDXSpec.logicalSectorSize, 32, 4, Self.isVirtualDisk | Self.isRequired),
            (VHDXSpec.physicalSectorSize, 36, 4, Self.isVirtualDisk | Self.isRequired),
        ]
        var table = VHDFields(count: VHDXSpec.metadataTableSize, bigEndian: false)
        table.put(VHDXSpec.metadataSignature, 0)
        table.set(UInt16(entries.count), 10)
        for (i, (guid, offset, length, flags)) in entries.enumerated() {
            let at = 32 + 32 * i
            table.put(guid.bytes, at)
            table.set(UInt32(VHDXSpec.metadataTableSize + offset), at + 16)
            table.set(UInt32(length), at + 20)
            table.set(flags, at + 24)
        }
        return table.bytes + items.bytes
    }

    /// Reads the table at `region` and the items it points to. Throws naming what is missing
    /// or out of range.
    static func read(_ file: any ImageFile, region: VHDXRegionTable.Entry) throws -> VHDXMetadata {
        func fail(_ why: String) -> UnderstudyError {
            UnderstudyError(.unsupported, "\(file.path): VHDX metadata \(why)", at: .init(path: file.path))
        }
        let table = VHDFields(try file.read(VHDXSpec.metadataTableSize, at: region.fileOffset), bigEndian: false)
        guard table.bytes.starts(with: VHDXSpec.metadataSignature) else { throw fail("table has no 'metadata' signature") }
        let count = Int(table.get(UInt16.self, 10))
        guard count <= 2047 else { throw fail("table claims \(count) entries (at most 2047)") }
        var items: [VHDXGUID: [UInt8]] = [:]
        for i in 0..<count {
            let at = 32 + 32 * i
            let guid = VHDXGUID(bytes: table.slice(at, 16))
            let offset = Int64(table.get(UInt32.self, at + 16)), length = Int64(table.get(UInt32.self, at + 20))
            let flags = table.get(UInt32.self, at + 24)
            let known = [VHDXSpec.fileParameters, VHDXSpec.virtualDiskSize, VHDXSpec.page83Data,
                         VHDXSpec.logicalSectorSize, VHDXSpec.physicalSectorSize].contains(guid)
            guard known else {
                if flags & isRequired != 0 { throw fail("item \(guid) is required but unknown (a differencing disk?)") }
                continue
            }
            guard length <= 1 << 20, offset >= Int64(VHDXSpec.metadataTableSize) || length == 0, offset + length <= region.length else {
                throw fail("item \(guid) (\(length) bytes at \(offset)) lies outside the region")
            }
            items[guid] = try file.read(Int(length), at: region.fileOffset + offset)
        }
        func item(_ guid: VHDXGUID, _ name: String, _ size: Int) throws -> VHDFields {
            guard let bytes = items[guid], bytes.count >= size else { throw fail("lacks the \(name) item") }
            return VHDFields(bytes, bigEndian: false)
        }
        let params = try item(VHDXSpec.fileParameters, "file parameters", 8)
        var out = VHDXMetadata(blockSize: params.get(UInt32.self, 0),
                               virtualSize: try item(VHDXSpec.virtualDiskSize, "virtual disk size", 8).get(UInt64.self, 0),
                               logicalSectorSize: try item(VHDXSpec.logicalSectorSize, "logical sector size", 4).get(UInt32.self, 0),
                               page83: VHDXGUID(bytes: try item(VHDXSpec.page83Data, "page 83 data", 16).slice(0, 16)))
        out.leaveBlocksAllocated = params.get(UInt32.self, 4) & 1 != 0
        out.hasParent = params.get(UInt32.self, 4) & 2 != 0
        out.physicalSectorSize = try item(VHDXSpec.physicalSectorSize, "physical sector size", 4).get(UInt32.self, 0)
        return out
    }

    /// Values the spec forbids (2.6.2).
    var problems: [String] {
        var out: [String] = []
        let block = Int64(blockSize)
        if block < VHDXSpec.mib || block > 256 * VHDXSpec.mib || block & (block - 1) != 0 {
            out.append("block size \(blockSize) is not a power of two between 1 MiB and 256 MiB")
        }
        if logicalSectorSize != 512 && logicalSectorSize != 4096 { out.append("logical sector size \(logicalSectorSize) is neither 512 nor 4096") }
        if physicalSectorSize != 512 && physicalSectorSize != 4096 { out.append("physical sector size \(physicalSectorSize) is neither 512 nor 4096") }
        if virtualSize == 0 || virtualSize > UInt64(VHDXSpec.maxSize) { out.append("virtual size \(virtualSize) is outside 1 byte…64 TiB") }
        if logicalSectorSize > 0, virtualSize % UInt64(logicalSectorSize) != 0 {
            out.append("virtual size \(virtualSize) is not a multiple of the \(logicalSectorSize)-byte logical sector")
        }
        if hasParent { out.append("the image is a differencing disk (HasParent), which Understudy does not write") }
        return out
    }
}
