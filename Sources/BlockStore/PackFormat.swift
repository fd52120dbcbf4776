import ChunkFormat

/// The pack file: `PackRecord`s (a 48-byte header and the chunk's zstd frame) appended one after
/// another, up to about `targetPackBytes`.
enum PackFormat {
    /// A writer starts a new pack once its pack holds this much.
    static let targetPackBytes: Int64 = 64 << 20

    /// What is wrong with the header of the record holding chunk `id` at `location`, or nil if it
    /// describes that chunk. Restores read only frames, so a damaged header harms nothing until the
    /// catalog must be rebuilt from the packs: `verify --chunks` names it before then.
    static func headerProblem(_ header: some Collection<UInt8>, id: ChunkID, location: ChunkLocation) -> String? {
        let wrong = PackRecord.damagedFields(header, id: id, frameLength: location.length, plainLength: location.plainLength)
        guard !wrong.isEmpty else { return nil }
        return "record header at offset \(location.offset - Int64(PackRecord.headerSize)) of pack \(location.pack) is damaged (\(wrong.joined(separator: ", ")))"
    }
}
