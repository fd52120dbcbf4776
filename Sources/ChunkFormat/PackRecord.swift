/// A chunk as stored in a pack (and as a future upload or replica carries it): a 48-byte header,
/// then the chunk's zstd frame. The header makes a pack self-describing, so a lost catalog can be
/// rebuilt by scanning; the frame is what is read, verified and sent to rescue clients unchanged.
///
/// ```
/// 0   magic "UCHK"
/// 4   frame length, u32 little-endian
/// 8   plaintext length, u32 little-endian
/// 12  reserved (0)
/// 16  chunk id (SHA-256 of the plaintext), 32 bytes
/// 48  zstd frame
/// ```
public enum PackRecord {
    public static let magic: [UInt8] = Array("UCHK".utf8)
    public static let headerSize = 48

    /// Writes the `headerSize` bytes of a header at `to`.
    public static func writeHeader(to: UnsafeMutableRawPointer, id: ChunkID, frameLength: Int, plainLength: Int) {
        magic.withUnsafeBytes { to.copyMemory(from: $0.baseAddress!, byteCount: 4) }
        to.storeBytes(of: UInt32(frameLength).littleEndian, toByteOffset: 4, as: UInt32.self)
        to.storeBytes(of: UInt32(plainLength).littleEndian, toByteOffset: 8, as: UInt32.self)
        to.storeBytes(of: UInt32(0), toByteOffset: 12, as: UInt32.self)
        id.store(to: to + 16)
    }

    /// The fields of `header` that do not describe chunk `id` with these lengths (empty if it
    /// does); a header of the wrong size is all wrong.
    public static func damagedFields(_ header: some Collection<UInt8>, id: ChunkID, frameLength: Int, plainLength: Int) -> [String] {
        let bytes = Array(header)
        guard bytes.count == headerSize else { return ["record header is cut short"] }
        func u32(_ at: Int) -> Int { Int(bytes[at]) | Int(bytes[at + 1]) << 8 | Int(bytes[at + 2]) << 16 | Int(bytes[at + 3]) << 24 }
        var wrong: [String] = []
        if Array(bytes[0..<4]) != magic { wrong.append("magic") }
        if u32(4) != frameLength { wrong.append("frame length \(u32(4)), catalog says \(frameLength)") }
        if u32(8) != plainLength { wrong.append("plaintext length \(u32(8)), catalog says \(plainLength)") }
        if u32(12) != 0 { wrong.append("reserved bytes") }
        if ChunkID(bytes: bytes[16..<48]) != id { wrong.append("chunk id") }
        return wrong
    }
}
