/// VMDK on-disk layout (VMware "Virtual Disk Format 5.0", sections "Hosted Sparse Extents" and
/// "Stream-Optimized Compressed Sparse Extents"; libvmdk's "VMware Virtual Disk (VMDK) format").
/// Everything is little-endian; offsets and sizes are in 512-byte sectors.
///
/// monolithicSparse (what we write):
///
///     sector 0        header
///     1 ..< 21        embedded descriptor (text, zero-padded)
///     21              redundant grain directory, then its grain tables (4 sectors each)
///     gdOffset        grain directory, then its grain tables
///     overhead        grains (64 KiB each), in disk order, allocated only where non-zero
///
/// streamOptimized: header (gdOffset = all ones: "at the end"), descriptor, then from sector 128
/// each non-zero grain as a marker (lba u64, size u32) + zlib stream padded to 512 B, each grain
/// table after its grains as GT marker + table, then GD marker + grain directory, footer marker +
/// footer (the header with the real gdOffset) and the end-of-stream marker as the last sector.
enum VMDK {}

extension VMDK {
    static let sector = 512
    /// Grain size we write: 128 sectors = 64 KiB.
    static let grainSectors: Int64 = 128
    static let grainBytes = Int(grainSectors) * sector
    /// Grain table entries per table (covers 32 MiB); 4 sectors per table.
    static let gtesPerGT = 512
    static let gtSectors: Int64 = 4
    /// Descriptor space we reserve (qemu and VMware use 20 sectors, so tools can edit in place).
    static let descriptorOffset: Int64 = 1
    static let descriptorSectors: Int64 = 20
    /// One extent's grain offsets are u32 sectors: 2 TiB.
    static let maxExtentBytes: Int64 = 1 << 41

    /// The 512-byte sparse extent header.
    struct Header: Equatable {
        /// "KDMV" at offset 0 (the u32 0x564D444B stored little-endian).
        static let magic: [UInt8] = [0x4B, 0x44, 0x4D, 0x56]
        static let flagNewlineTest: UInt32 = 1 << 0   // bit 0: the \n \r\n bytes @73 are valid
        static let flagRedundantGD: UInt32 = 1 << 1   // bit 1: a redundant grain directory exists
        static let flagZeroedGTE: UInt32 = 1 << 2     // bit 2: GTE 1 means "zeroed grain"
        static let flagCompressed: UInt32 = 1 << 16   // bit 16: grains are compressed
        static let flagMarkers: UInt32 = 1 << 17      // bit 17: grains and metadata carry markers
        /// gdOffset meaning "read the footer": the grain directory is written at the end.
        static let gdAtEnd: UInt64 = .max
        static let compressionDeflate: UInt16 = 1
        /// Bytes 73...76, used by VMware to detect files mangled by text-mode transfers.
        static let newlineBytes: [UInt8] = [0x0A, 0x20, 0x0D, 0x0A]

        var version: UInt32 = 1                 // @4: 1 sparse; 3 streamOptimized
        var flags: UInt32 = 0                   // @8
        var capacity: UInt64 = 0                // @12: virtual size in sectors
        var grainSize: UInt64 = 128             // @20: sectors per grain (power of two, ≥ 8)
        var descriptorOffset: UInt64 = 0        // @28
        var descriptorSize: UInt64 = 0          // @36: sectors
        var gtesPerGT: UInt32 = 512             // @44
        var rgdOffset: UInt64 = 0               // @48: redundant grain directory
        var gdOffset: UInt64 = 0                // @56: grain directory (or gdAtEnd)
        var overhead: UInt64 = 0                // @64: sectors before the first grain
        var unclean = false                     // @72: u8
        // @73 ..< 77: newlineBytes
        var compressAlgorithm: UInt16 = 0       // @77: 0 none, 1 deflate

        var isCompressed: Bool { flags & Self.flagCompressed != 0 || compressAlgorithm == Self.compressionDeflate }
        var hasMarkers: Bool { flags & Self.flagMarkers != 0 }

        func encoded() -> [UInt8] {
            var b = [UInt8](repeating: 0, count: VMDK.sector)
            b.replaceSubrange(0..<4, with: Self.magic)
            put(version, into: &b, at: 4)
            put(flags, into: &b, at: 8)
            put(capacity, into: &b, at: 12)
            put(grainSize, into: &b, at: 20)
            put(descriptorOffset, into: &b, at: 28)
            put(descriptorSize, into: &b, at: 36)
            put(gtesPerGT, into: &b, at: 44)
            put(rgdOffset, into: &b, at: 48)
            put(gdOffset, into: &b, at: 56)
            put(overhead, into: &b, at: 64)
            b[72] = unclean ? 1 : 0
            b.replaceSubrange(73..<77, with: Self.newlineBytes)
            put(compressAlgorithm, into: &b, at: 77)
            return b
        }

        /// Decodes a header; nil if the magic is not "KDMV" or fewer than 512 bytes are given.
        init?(decoding b: [UInt8]) {
            guard b.count >= VMDK.sector, Array(b[0..<4]) == Self.magic else { return nil }
            version = get(UInt32.self, b, at: 4)
            flags = get(UInt32.self, b, at: 8)
            capacity = get(UInt64.self, b, at: 12)
            grainSize = get(UInt64.self, b, at: 20)
            descriptorOffset = get(UInt64.self, b, at: 28)
            descriptorSize = get(UInt64.self, b, at: 36)
            gtesPerGT = get(UInt32.self, b, at: 44)
            rgdOffset = get(UInt64.self, b, at: 48)
            gdOffset = get(UInt64.self, b, at: 56)
            overhead = get(UInt64.self, b, at: 64)
            unclean = b[72] != 0
            compressAlgorithm = get(UInt16.self, b, at: 77)
        }

        init() {}
    }

    /// Marker types (streamOptimized). A metadata marker is one sector: numSectors u64 @0,
    /// size u32 @8 (always 0), type u32 @12; its metadata follows in the next sectors. A grain
    /// marker is lba u64 @0 + compressed size u32 @8 + the zlib stream from @12.
    enum Marker {
        static let endOfStream: UInt32 = 0
        static let grainTable: UInt32 = 1
        static let grainDirectory: UInt32 = 2
        static let footer: UInt32 = 3
        /// Bytes before a grain's compressed data.
        static let grainHeaderSize = 12

        static func metadata(type: UInt32, sectors: UInt64) -> [UInt8] {
            var b = [UInt8](repeating: 0, count: VMDK.sector)
            put(sectors, into: &b, at: 0)
            put(type, into: &b, at: 12)
            return b
        }
    }

    /// Where a monolithicSparse image keeps its tables, for a disk of `capacity` sectors.
    struct SparseLayout {
        let capacity: Int64
        var grains: Int { Int((capacity + VMDK.grainSectors - 1) / VMDK.grainSectors) }
        var tables: Int { (grains + VMDK.gtesPerGT - 1) / VMDK.gtesPerGT }
        var gdSectors: Int64 { (Int64(tables) * 4 + Int64(VMDK.sector) - 1) / Int64(VMDK.sector) }
        var rgdOffset: Int64 { VMDK.descriptorOffset + VMDK.descriptorSectors }
        var gdOffset: Int64 { rgdOffset + gdSectors + Int64(tables) * VMDK.gtSectors }
        /// Sector of grain table `i` in the primary (or redundant) copy.
        func table(_ i: Int, redundant: Bool) -> Int64 {
            (redundant ? rgdOffset : gdOffset) + gdSectors + Int64(i) * VMDK.gtSectors
        }
        /// First grain sector: after both copies, rounded up to a grain as qemu and VMware do.
        var overhead: Int64 {
            let end = gdOffset + gdSectors + Int64(tables) * VMDK.gtSectors
            return (end + VMDK.grainSectors - 1) / VMDK.grainSectors * VMDK.grainSectors
        }
    }
}

extension VMDK {
    /// Stores `value` little-endian at byte `offset` of `bytes`.
    static func put<T: FixedWidthInteger>(_ value: T, into bytes: inout [UInt8], at offset: Int) {
        Binary.storeLE(value, &bytes, offset)
    }

    /// Loads a little-endian `T` at byte `offset` of `bytes` (unaligned).
    static func get<T: FixedWidthInteger>(_: T.Type, _ bytes: [UInt8], at offset: Int) -> T {
        Binary.loadLE(T.self, bytes, offset)
    }
}
