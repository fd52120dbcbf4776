/// The pack file: chunk records appended one after another, each a 48-byte header and the
/// chunk's zstd frame. The header makes a pack self-describing, so a lost catalog can be rebuilt
/// by scanning; the frame is what is read, verified and sent to rescue clients unchanged.
///
/// ```
/// 0   magic "UCHK"
/// 4   frame length, u32 little-endian
/// 8   plaintext length, u32 little-endian
/// 12  reserved (0)
/// 16  chunk id (SHA-256 of the plaintext), 32 bytes
/// 48  zstd frame
/// ```
enum PackFormat {
    static let magic: [UInt8] = Array("UCHK".utf8)
    static let headerSize = 48
    /// A writer starts a new pack once its pack holds this much.
    static let targetPackBytes: Int64 = 64 << 20

    static func header(id: ChunkID, frameLength: Int, plainLength: Int) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: headerSize)
        out.replaceSubrange(0..<4, with: magic)
        withUnsafeBytes(of: UInt32(frameLength).littleEndian) { out.replaceSubrange(4..<8, with: $0) }
        withUnsafeBytes(of: UInt32(plainLength).littleEndian) { out.replaceSubrange(8..<12, with: $0) }
        out.withUnsafeMutableBytes { id.store(to: $0.baseAddress! + 16) }
        return out
    }

    /// What is wrong with the header of the record holding chunk `id` at `location`, or nil if it
    /// describes that chunk. Restores read only frames, so a damaged header harms nothing until the
    /// catalog must be rebuilt from the packs: `verify --chunks` names it before then.
    static func headerProblem(_ header: some Collection<UInt8>, id: ChunkID, location: ChunkLocation) -> String? {
        let bytes = Array(header)
        guard bytes.count == headerSize else { return "record header is cut short" }
        func u32(_ at: Int) -> Int { Int(bytes[at]) | Int(bytes[at + 1]) << 8 | Int(bytes[at + 2]) << 16 | Int(bytes[at + 3]) << 24 }
        var wrong: [String] = []
        if Array(bytes[0..<4]) != magic { wrong.append("magic") }
        if u32(4) != location.length { wrong.append("frame length \(u32(4)), catalog says \(location.length)") }
        if u32(8) != location.plainLength { wrong.append("plaintext length \(u32(8)), catalog says \(location.plainLength)") }
        if u32(12) != 0 { wrong.append("reserved bytes") }
        if ChunkID(bytes: bytes[16..<48]) != id { wrong.append("chunk id") }
        guard !wrong.isEmpty else { return nil }
        return "record header at offset \(location.offset - Int64(headerSize)) of pack \(location.pack) is damaged (\(wrong.joined(separator: ", ")))"
    }
}
