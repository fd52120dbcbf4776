/// The qcow2 header (QEMU `docs/interop/qcow2.rst`, "Header"), big-endian. We write version 3
/// with 64 KiB clusters, 16-bit refcounts, no backing file, no snapshots, no encryption.
struct QCOW2Header: Equatable {
    static let magic: UInt32 = 0x5146_49FB  // "QFI\xfb"
    /// Bytes of the header we write: through the compression type byte (offset 104), padded to 8.
    static let length = 112
    static let defaultClusterBits = 16
    /// Incompatible feature bits (offset 72).
    static let dirtyBit: UInt64 = 1 << 0
    static let corruptBit: UInt64 = 1 << 1
    static let compressionTypeBit: UInt64 = 1 << 3
    /// L1/L2 entry bits.
    static let copiedFlag: UInt64 = 1 << 63
    static let compressedFlag: UInt64 = 1 << 62
    static let zeroFlag: UInt64 = 1
    /// Bits 9-55 of a standard L1/L2 entry hold the host offset.
    static let offsetMask: UInt64 = 0x00FF_FFFF_FFFF_FE00
    static let extensionEnd: UInt32 = 0

    var version: UInt32 = 3
    var backingFileOffset: UInt64 = 0      // @8
    var backingFileSize: UInt32 = 0        // @16
    var clusterBits: UInt32 = 16           // @20
    var size: UInt64 = 0                   // @24 virtual disk size in bytes
    var cryptMethod: UInt32 = 0            // @32
    var l1Size: UInt32 = 0                 // @36 entries
    var l1TableOffset: UInt64 = 0          // @40
    var refcountTableOffset: UInt64 = 0    // @48
    var refcountTableClusters: UInt32 = 0  // @56
    var nbSnapshots: UInt32 = 0            // @60
    var snapshotsOffset: UInt64 = 0        // @64
    var incompatibleFeatures: UInt64 = 0   // @72
    var compatibleFeatures: UInt64 = 0     // @80
    var autoclearFeatures: UInt64 = 0      // @88
    var refcountOrder: UInt32 = 4          // @96 (16-bit refcounts)
    var headerLength: UInt32 = UInt32(QCOW2Header.length)  // @100
    var compressionType: UInt8 = 0         // @104: 0 deflate, 1 zstd

    var clusterSize: Int64 { 1 << Int64(clusterBits) }
    var l2Entries: Int64 { clusterSize / 8 }
    /// Offset mask and sector-count shift of a compressed L2 entry (spec: x = 62 - (cluster_bits - 8)).
    var compressedOffsetBits: Int { 62 - (Int(clusterBits) - 8) }
    /// Bits 9-63 of a refcount table entry hold a refcount block's offset.
    static let refcountOffsetMask: UInt64 = 0xFFFF_FFFF_FFFF_FE00

    /// The host bytes a compressed L2 entry names: its first byte and its last (the sector
    /// count covers at most two clusters, so the span touches at most three).
    func compressedSpan(_ entry: UInt64) -> (start: Int64, last: Int64) {
        let bits = UInt64(compressedOffsetBits)
        let start = Int64(entry & ((1 << bits) - 1))
        let sectors = Int64((entry >> bits) & ((1 << (62 - bits)) - 1)) + 1
        return (start, (start & ~511) + sectors * 512 - 1)
    }

    static let backingFormatExtension: UInt32 = 0xE279_2ACA

    /// The header, its extensions (a backing format if `backing` is given) and the backing file
    /// name after them; fills in the backing file offset and size.
    func encode(backing: (file: String, format: String)? = nil) -> [UInt8] {
        var h = self
        var tail: [UInt8] = []
        if let backing {
            let format = Array(backing.format.utf8)
            var ext = [UInt8](repeating: 0, count: 8)
            Binary.storeBE(Self.backingFormatExtension, &ext, 0)
            Binary.storeBE(UInt32(format.count), &ext, 4)
            ext += format + [UInt8](repeating: 0, count: (8 - format.count % 8) % 8)
            tail += ext
        }
        tail += [UInt8](repeating: 0, count: 8)  // end of extensions
        if let backing {
            let name = Array(backing.file.utf8)
            h.backingFileOffset = UInt64(Self.length + tail.count)
            h.backingFileSize = UInt32(name.count)
            tail += name
        }
        return h.encodeFields() + tail
    }

    private func encodeFields() -> [UInt8] {
        var b = [UInt8](repeating: 0, count: Self.length)
        Binary.storeBE(Self.magic, &b, 0)
        Binary.storeBE(version, &b, 4)
        Binary.storeBE(backingFileOffset, &b, 8)
        Binary.storeBE(backingFileSize, &b, 16)
        Binary.storeBE(clusterBits, &b, 20)
        Binary.storeBE(size, &b, 24)
        Binary.storeBE(cryptMethod, &b, 32)
        Binary.storeBE(l1Size, &b, 36)
        Binary.storeBE(l1TableOffset, &b, 40)
        Binary.storeBE(refcountTableOffset, &b, 48)
        Binary.storeBE(refcountTableClusters, &b, 56)
        Binary.storeBE(nbSnapshots, &b, 60)
        Binary.storeBE(snapshotsOffset, &b, 64)
        Binary.storeBE(incompatibleFeatures, &b, 72)
        Binary.storeBE(compatibleFeatures, &b, 80)
        Binary.storeBE(autoclearFeatures, &b, 88)
        Binary.storeBE(refcountOrder, &b, 96)
        Binary.storeBE(headerLength, &b, 100)
        b[104] = compressionType
        return b
    }

    /// QEMU's own ceilings (block/qcow2.h `QCOW_MAX_L1_SIZE`, `QCOW_MAX_REFTABLE_SIZE`): a
    /// header asking for more is damaged, and nothing larger is ever allocated for it.
    static let maxL1Bytes: Int64 = 32 << 20
    static let maxRefcountTableBytes: Int64 = 8 << 20

    /// What makes the header unusable for reading the image in `fileSize` bytes: fields out of
    /// range, tables that are misaligned, too large or not inside the file. Empty: every table
    /// the header names can be read, and every size derived from it fits in an `Int64`.
    func layoutProblems(fileSize: Int64) -> [String] {
        guard version == 2 || version == 3 else { return ["unsupported version \(version)"] }
        guard (9...21).contains(clusterBits) else { return ["cluster bits \(clusterBits) outside 9...21"] }
        guard refcountOrder <= 6 else { return ["refcount order \(refcountOrder) above 6"] }
        var out = fieldProblems()
        let c = clusterSize
        // QEMU refuses to open an image whose snapshot table offset is not cluster-aligned even
        // when it lists no snapshots (qcow2_validate_table): found by the long fuzz run.
        if snapshotsOffset % UInt64(c) != 0 || snapshotsOffset > UInt64(Int64.max) - UInt64(nbSnapshots) * 40 {
            out.append("snapshot table offset \(snapshotsOffset) is not a cluster-aligned offset QEMU accepts")
        } else if nbSnapshots > 0, Binary.end(Binary.offset(snapshotsOffset), Int64(nbSnapshots) * 40, within: fileSize) == nil {
            out.append("snapshot table (\(nbSnapshots) snapshots at \(snapshotsOffset)) lies beyond the end of the file")
        }
        if backingFileOffset != 0, backingFileSize > 1023 || backingFileOffset > UInt64(c) || UInt64(backingFileSize) > UInt64(c) - backingFileOffset {
            out.append("backing file name (\(backingFileSize) bytes at \(backingFileOffset)) does not fit in the first cluster")
        }
        let l1Bytes = Int64(l1Size) * 8
        if l1Bytes > Self.maxL1Bytes {
            out.append("L1 table of \(l1Size) entries exceeds QEMU's \(Self.maxL1Bytes >> 20) MiB limit")
        } else if size > UInt64(Int64(l1Size) * (c * l2Entries)) {
            // (At most 2^22 entries of 2^39 bytes each here: no overflow.)
            out.append("virtual size \(size) needs more than the \(l1Size) L1 entries the header gives")
        }
        let l1 = Binary.offset(l1TableOffset)
        if l1 % c != 0 { out.append("L1 table offset \(l1TableOffset) is not cluster aligned") }
        if l1Bytes <= Self.maxL1Bytes, Binary.end(l1, l1Bytes, within: fileSize) == nil {
            out.append("L1 table (\(l1Bytes) bytes at \(l1TableOffset)) lies beyond the end of the file (\(fileSize) bytes)")
        }
        let table = Binary.offset(refcountTableOffset)
        let tableBytes = Int64(refcountTableClusters) * c
        if refcountTableClusters == 0 { out.append("no refcount table") }
        if table % c != 0 || table == 0 { out.append("refcount table offset \(refcountTableOffset) is not a cluster-aligned offset past the header") }
        if tableBytes > Self.maxRefcountTableBytes {
            out.append("refcount table of \(refcountTableClusters) clusters exceeds QEMU's \(Self.maxRefcountTableBytes >> 20) MiB limit")
        } else if Binary.end(table, tableBytes, within: fileSize) == nil {
            out.append("refcount table (\(tableBytes) bytes at \(refcountTableOffset)) lies beyond the end of the file (\(fileSize) bytes)")
        }
        return out
    }

    /// Header fields QEMU refuses to open an image with (block/qcow2.c `qcow2_do_open`,
    /// `validate_compression_type`): a reader we rely on must be able to read what we leave.
    private func fieldProblems() -> [String] {
        var out: [String] = []
        if cryptMethod > 2 { out.append("unknown encryption method \(cryptMethod)") }
        if nbSnapshots > 65536 { out.append("\(nbSnapshots) snapshots, more than QEMU's 65536") }
        guard version == 3 else { return out }
        if headerLength < 104 || Int64(headerLength) > clusterSize || headerLength % 8 != 0 {
            out.append("header length \(headerLength) is not a multiple of 8 between 104 and the cluster size")
        }
        if compressionType > 1 { out.append("unknown compression type \(compressionType)") }
        if (compressionType != 0) != (incompatibleFeatures & Self.compressionTypeBit != 0) {
            out.append("compression type \(compressionType) and its incompatible feature bit disagree")
        }
        return out
    }

    /// Header extensions (spec "Header extensions"), walked as QEMU walks them
    /// (`qcow2_read_extensions`) through `cluster`, the file's first cluster: one QEMU refuses
    /// leaves an image no reader opens, however sound its tables.
    func extensionProblems(_ cluster: [UInt8]) -> [String] {
        let end = backingFileOffset != 0 ? min(Int(clamping: backingFileOffset), cluster.count) : cluster.count
        var at = version == 3 ? Int(headerLength) : 72
        while at < end {
            guard at + 8 <= end else { return ["header extension at \(at) runs past the end of the header area"] }
            let type = Binary.loadBE(UInt32.self, cluster, at), length = Int(Binary.loadBE(UInt32.self, cluster, at + 4))
            at += 8
            guard length <= end - at else { return ["header extension 0x\(String(type, radix: 16)) of \(length) bytes runs past the end of the header area"] }
            switch type {
            case Self.extensionEnd: return []
            case Self.backingFormatExtension where length >= 16: return ["backing format name of \(length) bytes is too long"]
            case 0x0537_BE77 where cryptMethod != 2: return ["encryption header extension in an image that is not LUKS-encrypted"]
            case 0x2385_2875 where autoclearFeatures & 1 != 0: return ["persistent bitmaps, which Understudy neither checks nor keeps up to date"]
            default: break
            }
            at += (length + 7) & ~7
        }
        return []
    }

    /// Parses a header; nil if the magic is wrong.
    static func decode(_ b: [UInt8]) -> QCOW2Header? {
        guard b.count >= 72, Binary.loadBE(UInt32.self, b, 0) == magic else { return nil }
        var h = QCOW2Header()
        h.version = Binary.loadBE(UInt32.self, b, 4)
        h.backingFileOffset = Binary.loadBE(UInt64.self, b, 8)
        h.backingFileSize = Binary.loadBE(UInt32.self, b, 16)
        h.clusterBits = Binary.loadBE(UInt32.self, b, 20)
        h.size = Binary.loadBE(UInt64.self, b, 24)
        h.cryptMethod = Binary.loadBE(UInt32.self, b, 32)
        h.l1Size = Binary.loadBE(UInt32.self, b, 36)
        h.l1TableOffset = Binary.loadBE(UInt64.self, b, 40)
        h.refcountTableOffset = Binary.loadBE(UInt64.self, b, 48)
        h.refcountTableClusters = Binary.loadBE(UInt32.self, b, 56)
        h.nbSnapshots = Binary.loadBE(UInt32.self, b, 60)
        h.snapshotsOffset = Binary.loadBE(UInt64.self, b, 64)
        if h.version >= 3 && b.count >= 104 {
            h.incompatibleFeatures = Binary.loadBE(UInt64.self, b, 72)
            h.compatibleFeatures = Binary.loadBE(UInt64.self, b, 80)
            h.autoclearFeatures = Binary.loadBE(UInt64.self, b, 88)
            h.refcountOrder = Binary.loadBE(UInt32.self, b, 96)
            h.headerLength = Binary.loadBE(UInt32.self, b, 100)
            if h.headerLength > 104 && b.count > 104 { h.compressionType = b[104] }
        } else {
            h.refcountOrder = 4
            h.headerLength = 72
        }
        return h
    }
}
