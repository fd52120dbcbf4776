import Foundation

// On-disk layout of VHD (v1), from Microsoft's "Virtual Hard Disk Image Format Specification"
// v1.0 (2006). Every integer is big-endian.
//
// Dynamic image as we write it:
//   0      footer copy (512 B)
//   512    dynamic disk header (1024 B)
//   1536   BAT: one u32 sector offset per 2 MiB block, 0xFFFFFFFF = unallocated, padded to 512 B
//   ...    blocks: sector bitmap (512 B, all ones) + 2 MiB of data, in allocation order
//   end    footer (512 B)
// Fixed image: the disk's bytes (size rounded up to a MiB), then the footer.

/// Frozen constants of the VHD format.
enum VHDSpec {
    static let footerSize = 512
    static let dynamicHeaderSize = 1024
    static let footerCookie = Array("conectix".utf8)
    static let dynamicCookie = Array("cxsparse".utf8)
    /// "Features": bit 1 is reserved and must always be set (spec: Hard Disk Footer Format).
    static let features: UInt32 = 0x0000_0002
    static let version: UInt32 = 0x0001_0000
    static let dynamicHeaderVersion: UInt32 = 0x0001_0000
    /// QEMU (≤ 9.2) trusts the footer's size over CHS only for a few creators; Hyper-V's is one.
    static let creatorApp = Array("win ".utf8)
    static let creatorVersion: UInt32 = 0x000A_0000
    static let creatorOS = Array("Wi2k".utf8)
    static let blockSize: Int64 = 2 << 20
    /// One bit per sector of a 2 MiB block: 512 bytes, already a whole sector.
    static let bitmapSize: Int64 = 512
    static let unallocated: UInt32 = 0xFFFF_FFFF
    /// 0xFF000000 sectors = 2040 GiB: QEMU's and Azure's maximum (32-bit sector offsets in the BAT).
    static let maxSize: Int64 = 0xFF00_0000 * 512
    /// 65535 × 16 × 255 sectors (~127 GiB): the most CHS can describe; larger disks carry this.
    static let maxCHSSectors: Int64 = 65535 * 16 * 255
    static let batOffset: Int64 = 1536
    /// VHD timestamps count seconds from 2000-01-01 00:00:00 UTC.
    static let epoch = Date(timeIntervalSince1970: 946_684_800)

    enum DiskType: UInt32 {
        case fixed = 2, dynamic = 3, differencing = 4
        var name: String {
            switch self {
            case .fixed: "fixed"
            case .dynamic: "dynamic"
            case .differencing: "differencing"
            }
        }
    }

    /// One's complement of the byte sum, with the checksum field counted as zero (spec: Checksum).
    static func checksum(_ bytes: [UInt8], skipping field: Int) -> UInt32 {
        var sum: UInt32 = 0
        for (i, byte) in bytes.enumerated() where !(field..<(field + 4)).contains(i) { sum &+= UInt32(byte) }
        return ~sum
    }
}

/// The 512-byte hard disk footer (spec: "Hard Disk Footer Format").
struct VHDFooter: Equatable {
    var dataOffset: UInt64          // @16: dynamic header offset; all ones for fixed disks
    var timestamp: UInt32           // @24
    var creatorApp: [UInt8]         // @28
    var creatorVersion: UInt32      // @32
    var creatorOS: [UInt8]          // @36
    var originalSize: UInt64        // @40
    var currentSize: UInt64         // @48
    var geometry: Geometry          // @56: cylinders u16, heads u8, sectors per track u8
    var diskType: UInt32            // @60
    var checksum: UInt32 = 0        // @64
    var uuid: [UInt8]               // @68, 16 bytes
    var savedState: UInt8 = 0       // @84
    var cookie = VHDSpec.footerCookie  // @0
    var features = VHDSpec.features    // @8
    var version = VHDSpec.version      // @12

    struct Geometry: Equatable, CustomStringConvertible {
        var cylinders: UInt16, heads: UInt8, sectorsPerTrack: UInt8
        var sectors: Int64 { Int64(cylinders) * Int64(heads) * Int64(sectorsPerTrack) }
        var description: String { "\(cylinders)/\(heads)/\(sectorsPerTrack)" }

        /// CHS for a disk of `size` bytes, by the spec's algorithm (Appendix: CHS Calculation):
        /// capped at 65535×16×255 and rounding down, so it may describe less than the disk.
        init(size: Int64) {
            let total = min(size / 512, VHDSpec.maxCHSSectors)
            var spt: Int64, heads: Int64, cylTimesHeads: Int64
            if total >= 65535 * 16 * 63 {
                spt = 255; heads = 16; cylTimesHeads = total / spt
            } else {
                spt = 17; cylTimesHeads = total / spt
                heads = max(4, (cylTimesHeads + 1023) / 1024)
                if cylTimesHeads >= heads * 1024 || heads > 16 {
                    spt = 31; heads = 16; cylTimesHeads = total / spt
                }
                if cylTimesHeads >= heads * 1024 {
                    spt = 63; heads = 16; cylTimesHeads = total / spt
                }
            }
            cylinders = UInt16(min(65535, cylTimesHeads / heads)); self.heads = UInt8(heads); sectorsPerTrack = UInt8(spt)
        }

        init(cylinders: UInt16, heads: UInt8, sectorsPerTrack: UInt8) {
            self.cylinders = cylinders; self.heads = heads; self.sectorsPerTrack = sectorsPerTrack
        }
    }

    /// A new footer for a disk of `size` bytes (exact: current = original = size).
    init(size: Int64, type: VHDSpec.DiskType, dataOffset: UInt64, now: Date = Date()) {
        self.dataOffset = dataOffset
        timestamp = UInt32(clamping: Int64(now.timeIntervalSince(VHDSpec.epoch)))
        creatorApp = VHDSpec.creatorApp
        creatorVersion = VHDSpec.creatorVersion
        creatorOS = VHDSpec.creatorOS
        originalSize = UInt64(size)
        currentSize = UInt64(size)
        geometry = Geometry(size: size)
        diskType = type.rawValue
        uuid = withUnsafeBytes(of: UUID().uuid) { Array($0) }
    }

    /// Parses a footer; nil unless it starts with the `conectix` cookie.
    init?(_ bytes: [UInt8]) {
        guard bytes.count >= VHDSpec.footerSize, Array(bytes[0..<8]) == VHDSpec.footerCookie else { return nil }
        let f = VHDFields(Array(bytes[0..<VHDSpec.footerSize]), bigEndian: true)
        cookie = f.slice(0, 8)
        features = f.get(UInt32.self, 8)
        version = f.get(UInt32.self, 12)
        dataOffset = f.get(UInt64.self, 16)
        timestamp = f.get(UInt32.self, 24)
        creatorApp = f.slice(28, 4)
        creatorVersion = f.get(UInt32.self, 32)
        creatorOS = f.slice(36, 4)
        originalSize = f.get(UInt64.self, 40)
        currentSize = f.get(UInt64.self, 48)
        geometry = Geometry(cylinders: f.get(UInt16.self, 56), heads: f.get(UInt8.self, 58), sectorsPerTrack: f.get(UInt8.self, 59))
        diskType = f.get(UInt32.self, 60)
        checksum = f.get(UInt32.self, 64)
        uuid = f.slice(68, 16)
        savedState = f.get(UInt8.self, 84)
    }

    var type: VHDSpec.DiskType? { VHDSpec.DiskType(rawValue: diskType) }

    /// The 512 bytes, with the checksum computed over them.
    func encoded() -> [UInt8] {
        var f = VHDFields(count: VHDSpec.footerSize, bigEndian: true)
        f.put(cookie, 0)
        f.set(features, 8)
        f.set(version, 12)
        f.set(dataOffset, 16)
        f.set(timestamp, 24)
        f.put(creatorApp, 28)
        f.set(creatorVersion, 32)
        f.put(creatorOS, 36)
        f.set(originalSize, 40)
        f.set(currentSize, 48)
        f.set(geometry.cylinders, 56)
        f.set(geometry.heads, 58)
        f.set(geometry.sectorsPerTrack, 59)
        f.set(diskType, 60)
        f.put(uuid, 68)
        f.set(savedState, 84)
        f.set(VHDSpec.checksum(f.bytes, skipping: 64), 64)
        return f.bytes
    }

    /// The checksum the stored bytes should carry.
    static func expectedChecksum(of bytes: [UInt8]) -> UInt32 { VHDSpec.checksum(Array(bytes.prefix(VHDSpec.footerSize)), skipping: 64) }
}

/// The 1024-byte dynamic disk header (spec: "Dynamic Disk Header Format"). Parent fields stay
/// zero: we never write differencing disks.
struct VHDDynamicHeader: Equatable {
    var tableOffset: UInt64         // @16: the BAT's absolute byte offset
    var maxTableEntries: UInt32     // @28: exactly ⌈size / block size⌉ (Azure rejects more)
    var blockSize: UInt32           // @32
    var checksum: UInt32 = 0        // @36
    var dataOffset: UInt64 = .max   // @8: unused, all ones
    var version = VHDSpec.dynamicHeaderVersion  // @24

    init(tableOffset: UInt64, maxTableEntries: UInt32, blockSize: UInt32) {
        self.tableOffset = tableOffset; self.maxTableEntries = maxTableEntries; self.blockSize = blockSize
    }

    /// Parses a dynamic header; nil unless it starts with the `cxsparse` cookie.
    init?(_ bytes: [UInt8]) {
        guard bytes.count >= VHDSpec.dynamicHeaderSize, Array(bytes[0..<8]) == VHDSpec.dynamicCookie else { return nil }
        let f = VHDFields(Array(bytes[0..<VHDSpec.dynamicHeaderSize]), bigEndian: true)
        dataOffset = f.get(UInt64.self, 8)
        tableOffset = f.get(UInt64.self, 16)
        version = f.get(UInt32.self, 24)
        maxTableEntries = f.get(UInt32.self, 28)
        blockSize = f.get(UInt32.self, 32)
        checksum = f.get(UInt32.self, 36)
    }

    func encoded() -> [UInt8] {
        var f = VHDFields(count: VHDSpec.dynamicHeaderSize, bigEndian: true)
        f.put(VHDSpec.dynamicCookie, 0)
        f.set(dataOffset, 8)
        f.set(tableOffset, 16)
        f.set(version, 24)
        f.set(maxTableEntries, 28)
        f.set(blockSize, 32)
        f.set(VHDSpec.checksum(f.bytes, skipping: 36), 36)
        return f.bytes
    }

    static func expectedChecksum(of bytes: [UInt8]) -> UInt32 {
        VHDSpec.checksum(Array(bytes.prefix(VHDSpec.dynamicHeaderSize)), skipping: 36)
    }

    /// Bytes the BAT occupies on disk: 4 per entry, padded to a sector.
    var tableBytes: Int64 { VHDFields.roundUp(Int64(maxTableEntries) * 4, 512) }
    /// The sector bitmap in front of each block: one bit per sector, padded to a sector.
    var bitmapBytes: Int64 { VHDFields.roundUp(Int64(blockSize) / 512 / 8, 512) }
}
