/// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), the checksum of every VHDX header,
/// region table and log entry ([MS-VHDX] 2.2.2). Table-driven, a byte at a time: it only ever
/// covers a few KiB of metadata.
enum CRC32C {
    static let table: [UInt32] = (0..<256).map { n in
        var c = UInt32(n)
        for _ in 0..<8 { c = c & 1 != 0 ? (c >> 1) ^ 0x82F6_3B78 : c >> 1 }
        return c
    }

    static func checksum(_ bytes: [UInt8]) -> UInt32 {
        var crc: UInt32 = 0xFFFF_FFFF
        for byte in bytes { crc = table[Int((crc ^ UInt32(byte)) & 0xFF)] ^ (crc >> 8) }
        return ~crc
    }

    /// The checksum of `bytes` with the 4-byte field at `field` counted as zero, as VHDX defines it.
    static func checksum(_ bytes: [UInt8], zeroing field: Int) -> UInt32 {
        var copy = bytes
        copy.replaceSubrange(field..<(field + 4), with: [0, 0, 0, 0])
        return checksum(copy)
    }
}
