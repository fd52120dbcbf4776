// On-disk layout of VHDX, from [MS-VHDX] v1.0. Every integer is little-endian, GUIDs are
// mixed-endian, checksums are CRC-32C. Everything past the header section is 1 MiB aligned.
//
// As we write it:
//   0        file type identifier: `vhdxfile` + UTF-16 creator (2.2.1)
//   64 KiB   header 1, 128 KiB header 2 (4 KiB each, sequence numbers n and n+1) (2.2.2)
//   192 KiB  region table 1, 256 KiB region table 2 (64 KiB each) (2.2.3)
//   1 MiB    log (1 MiB, empty: the headers' LogGuid is zero) (2.3)
//   2 MiB    metadata region (1 MiB): table, then the items at 64 KiB (2.6)
//   3 MiB    BAT (rounded up to a MiB) (2.5)
//   then     payload blocks, in allocation order

/// Frozen constants of the VHDX format.
enum VHDXSpec {
    static let mib: Int64 = 1 << 20
    static let fileSignature = Array("vhdxfile".utf8)
    static let headerSignature = Array("head".utf8)
    static let regionSignature = Array("regi".utf8)
    static let metadataSignature = Array("metadata".utf8)
    static let creator = "Understudy"

    static let headerOffsets: [Int64] = [64 << 10, 128 << 10]
    static let headerSize = 4096
    static let regionTableOffsets: [Int64] = [192 << 10, 256 << 10]
    static let regionTableSize = 64 << 10
    static let logOffset: Int64 = 1 << 20
    static let logLength: Int64 = 1 << 20
    static let metadataOffset: Int64 = 2 << 20
    static let metadataLength: Int64 = 1 << 20
    static let metadataTableSize = 64 << 10
    static let batOffset: Int64 = 3 << 20
    static let maxSize: Int64 = 64 << 40

    // Region GUIDs (2.2.3.2).
    static let batRegion = VHDXGUID("2DC27766-F623-4200-9D64-115E9BFD4A08")
    static let metadataRegion = VHDXGUID("8B7CA206-4790-4B9A-B8FE-575F050F886E")
    // Metadata item GUIDs (2.6.2).
    static let fileParameters = VHDXGUID("CAA16737-FA36-4D43-B3B6-33F0AA44E76B")
    static let virtualDiskSize = VHDXGUID("2FA54224-CD1B-4876-B211-5DBED83BF4B8")
    static let page83Data = VHDXGUID("BECA12AB-B2E6-4523-93EF-C309E000C746")
    static let logicalSectorSize = VHDXGUID("8141BF1D-A96F-4709-BA47-F233A8FAAB5F")
    static let physicalSectorSize = VHDXGUID("CDA348C7-445D-4471-9CC9-E9885251C556")

    // Payload BAT entry states (2.5.1.1); sector bitmap entries of a dynamic disk stay 0.
    static let blockNotPresent: UInt64 = 0
    static let blockZero: UInt64 = 2
    static let blockFullyPresent: UInt64 = 6
    static let blockPartiallyPresent: UInt64 = 7

    /// The payload block size we write. 1 MiB, the smallest VHDX allows: a block is allocated
    /// whole as soon as any of it holds data, so small blocks keep the image as sparse as the
    /// disk and keep an update's new allocations small (Microsoft recommends 1 MiB for Linux
    /// guests, whose file systems scatter metadata). Larger disks double it until the BAT has at
    /// most 2 Mi payload entries (2 TiB at 1 MiB), so the table held in memory stays ≤ 16 MiB.
    static func blockSize(forDiskSize size: Int64) -> Int64 {
        var block = mib
        while (size + block - 1) / block > 1 << 21 && block < 256 * mib { block *= 2 }
        return block
    }
}

/// The BAT's shape for one disk (2.5): payload entries interleaved with one sector bitmap
/// entry after every `chunkRatio` of them.
struct VHDXLayout: Equatable {
    let virtualSize: Int64
    let blockSize: Int64
    let logicalSectorSize: Int64

    /// Payload blocks one sector bitmap block (2²³ sectors) describes.
    var chunkRatio: Int64 { (1 << 23) * logicalSectorSize / blockSize }
    var payloadBlocks: Int64 { (virtualSize + blockSize - 1) / blockSize }
    /// A dynamic disk's entries end with the last payload entry (2.5).
    var batEntries: Int64 { payloadBlocks == 0 ? 0 : payloadBlocks + (payloadBlocks - 1) / chunkRatio }
    var batLength: Int64 { max(VHDXSpec.mib, VHDFields.roundUp(batEntries * 8, VHDXSpec.mib)) }
    func batIndex(ofBlock block: Int64) -> Int { Int(block + block / chunkRatio) }
    /// True for the sector bitmap entries' positions in the table.
    func isBitmapEntry(_ index: Int) -> Bool { (Int64(index) + 1) % (chunkRatio + 1) == 0 }
}

/// One BAT entry: state in bits 0–2, file offset in MiB in bits 20–63 (2.5.1).
struct VHDXEntry {
    var raw: UInt64
    var state: UInt64 { raw & 7 }
    /// (Clamped: a damaged entry's offset past `Int64.max` then fails every bounds check.)
    var fileOffset: Int64 { Binary.offset((raw >> 20) << 20) }
    var isPresent: Bool { state == VHDXSpec.blockFullyPresent || state == VHDXSpec.blockPartiallyPresent }

    init(raw: UInt64) { self.raw = raw }
    /// A block stored at `offset` (a MiB multiple).
    static func present(at offset: Int64) -> VHDXEntry { VHDXEntry(raw: UInt64(offset) | VHDXSpec.blockFullyPresent) }
    /// Reads as zeros; FileOffsetMB must be 0 (Hyper-V refuses anything else).
    static let zero = VHDXEntry(raw: VHDXSpec.blockZero)
}

/// A 4 KiB header (2.2.2). Two copies; the valid one with the higher sequence number is current.
struct VHDXHeader: Equatable {
    var sequenceNumber: UInt64      // @8
    var fileWriteGuid: VHDXGUID     // @16
    var dataWriteGuid: VHDXGUID     // @32
    var logGuid = VHDXGUID.zero     // @48: zero = the log is empty
    var logVersion: UInt16 = 0      // @64
    var version: UInt16 = 1         // @66
    var logLength = UInt32(VHDXSpec.logLength)   // @68
    var logOffset = UInt64(VHDXSpec.logOffset)   // @72

    init(sequenceNumber: UInt64, fileWriteGuid: VHDXGUID, dataWriteGuid: VHDXGUID) {
        self.sequenceNumber = sequenceNumber; self.fileWriteGuid = fileWriteGuid; self.dataWriteGuid = dataWriteGuid
    }

    /// Parses a header whose signature and CRC are right; nil otherwise.
    init?(_ bytes: [UInt8]) {
        guard bytes.count == VHDXSpec.headerSize, bytes.starts(with: VHDXSpec.headerSignature),
              VHDFields(bytes, bigEndian: false).get(UInt32.self, 4) == CRC32C.checksum(bytes, zeroing: 4) else { return nil }
        let f = VHDFields(bytes, bigEndian: false)
        sequenceNumber = f.get(UInt64.self, 8)
        fileWriteGuid = VHDXGUID(bytes: f.slice(16, 16))
        dataWriteGuid = VHDXGUID(bytes: f.slice(32, 16))
        logGuid = VHDXGUID(bytes: f.slice(48, 16))
        logVersion = f.get(UInt16.self, 64)
        version = f.get(UInt16.self, 66)
        logLength = f.get(UInt32.self, 68)
        logOffset = f.get(UInt64.self, 72)
    }

    func encoded() -> [UInt8] {
        var f = VHDFields(count: VHDXSpec.headerSize, bigEndian: false)
        f.put(VHDXSpec.headerSignature, 0)
        f.set(sequenceNumber, 8)
        f.put(fileWriteGuid.bytes, 16)
        f.put(dataWriteGuid.bytes, 32)
        f.put(logGuid.bytes, 48)
        f.set(logVersion, 64)
        f.set(version, 66)
        f.set(logLength, 68)
        f.set(logOffset, 72)
        f.set(CRC32C.checksum(f.bytes), 4)
        return f.bytes
    }
}

/// The region table (2.2.3): where the BAT and metadata regions are.
struct VHDXRegionTable: Equatable {
    struct Entry: Equatable {
        var guid: VHDXGUID, fileOffset: Int64, length: Int64, required: Bool
    }
    var entries: [Entry]

    init(entries: [Entry]) { self.entries = entries }

    /// Parses a table whose signature and CRC are right; nil otherwise.
    init?(_ bytes: [UInt8]) {
        guard bytes.count == VHDXSpec.regionTableSize, bytes.starts(with: VHDXSpec.regionSignature),
              VHDFields(bytes, bigEndian: false).get(UInt32.self, 4) == CRC32C.checksum(bytes, zeroing: 4) else { return nil }
        let f = VHDFields(bytes, bigEndian: false)
        let count = Int(f.get(UInt32.self, 8))
        guard count <= 2047 else { return nil }  // (64 KiB − 16) / 32
        entries = (0..<count).map { i in
            let at = 16 + 32 * i
            return Entry(guid: VHDXGUID(bytes: f.slice(at, 16)), fileOffset: Binary.offset(f.get(UInt64.self, at + 16)),
                         length: Int64(f.get(UInt32.self, at + 24)), required: f.get(UInt32.self, at + 28) & 1 != 0)
        }
    }

    func encoded() -> [UInt8] {
        var f = VHDFields(count: VHDXSpec.regionTableSize, bigEndian: false)
        f.put(VHDXSpec.regionSignature, 0)
        f.set(UInt32(entries.count), 8)
        for (i, e) in entries.enumerated() {
            let at = 16 + 32 * i
            f.put(e.guid.bytes, at)
            f.set(UInt64(e.fileOffset), at + 16)
            f.set(UInt32(e.length), at + 24)
            f.set(UInt32(e.required ? 1 : 0), at + 28)
        }
        f.set(CRC32C.checksum(f.bytes), 4)
        return f.bytes
    }

    func entry(_ guid: VHDXGUID) -> Entry? { entries.first { $0.guid == guid } }
}

/// The file type identifier (2.2.1): signature and a UTF-16 creator of up to 256 characters.
enum VHDXFileIdentifier {
    static func encoded(creator: String) -> [UInt8] {
        var f = VHDFields(count: 64 << 10, bigEndian: false)
        f.put(VHDXSpec.fileSignature, 0)
        for (i, unit) in creator.utf16.prefix(255).enumerated() { f.set(unit, 8 + 2 * i) }
        return Array(f.bytes.prefix(8 + 512))
    }

    static func creator(of bytes: [UInt8]) -> String {
        let f = VHDFields(bytes, bigEndian: false)
        let units = (0..<256).map { f.get(UInt16.self, 8 + 2 * $0) }.prefix { $0 != 0 }
        return String(decoding: units, as: UTF16.self)
    }
}
