/// One record of a `POST /chunks` response (`application/vnd.understudy.chunks`): the chunks come
/// back in the order asked, each as a 40-byte header (32-byte id, u32 status, u32 length) followed by
/// `length` bytes: the stored zstd frame exactly as on the server's disk, or for a failure a UTF-8
/// message. The request body is the ids, 32 bytes each, at most `RescueAPI.maxChunksPerRequest`.
public struct ChunkRecord: Sendable, Equatable {
    public enum Status: UInt32, Sendable {
        case ok = 0
        case missing = 1
        case unreadable = 2
    }

    public static let headerBytes = 40

    public var id: [UInt8]
    public var status: Status
    /// The frame (status ok) or the server's message: a slice of the response body, not a copy.
    public var payload: ArraySlice<UInt8>

    public init(id: [UInt8], status: Status, payload: ArraySlice<UInt8>) {
        self.id = id
        self.status = status
        self.payload = payload
    }

    public static func header(id: some Collection<UInt8>, status: Status, length: Int) -> [UInt8] {
        var w = ByteWriter(capacity: headerBytes)
        w.append(id)
        w.append(status.rawValue)
        w.append(UInt32(length))
        return w.bytes
    }

    /// Splits a whole response body into records.
    public static func decodeAll(_ body: [UInt8]) throws(WireError) -> [ChunkRecord] {
        var r = ByteReader(body)
        var records: [ChunkRecord] = []
        while r.remaining > 0 {
            let id = Array(try r.take(32, "chunk record id"))
            let raw = try r.uint32("chunk record status")
            guard let status = Status(rawValue: raw) else { throw WireError("chunk record has unknown status \(raw)") }
            let length = Int(try r.uint32("chunk record length"))
            records.append(ChunkRecord(id: id, status: status, payload: try r.take(length, "chunk record payload")))
        }
        return records
    }

    /// A request body: the ids back to back.
    public static func request(_ ids: [ArraySlice<UInt8>]) -> [UInt8] {
        ids.reduce(into: [UInt8]()) { $0.append(contentsOf: $1) }
    }

    /// Parses a request body into ids, refusing a malformed or oversized one.
    public static func parseRequest(_ body: [UInt8]) throws(WireError) -> [[UInt8]] {
        guard body.count % 32 == 0 else { throw WireError("chunk request is \(body.count) bytes, not a multiple of 32") }
        let count = body.count / 32
        guard count <= RescueAPI.maxChunksPerRequest else {
            throw WireError("chunk request asks for \(count) chunks, at most \(RescueAPI.maxChunksPerRequest) per request")
        }
        return (0..<count).map { Array(body[$0 * 32..<($0 + 1) * 32]) }
    }
}
