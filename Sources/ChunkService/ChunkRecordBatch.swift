import BlockStore
import NIOCore
import RescueProtocol
import ChunkFormat

/// Turns asked chunk ids into the records of `POST /chunks` (docs/rescue-protocol.md), a slice at
/// a time: each slice is read on the bulk lane into one buffer of about `sliceBytes`, then sent,
/// so a response holds at most one slice in memory however large the batch.
struct ChunkRecordBatch: Sendable {
    let ids: [ChunkID]
    let locations: [ChunkID: ChunkLocation]
    let chunks: ChunkStore
    static let sliceBytes = 256 << 10

    /// The records of `ids[start...]` up to about `sliceBytes`, and where the next slice starts.
    func slice(from start: Int) -> (buffer: ByteBuffer, next: Int) {
        var buffer = ByteBuffer()
        var next = start
        while next < ids.count && (next == start || buffer.readableBytes < Self.sliceBytes) {
            append(ids[next], to: &buffer)
            next += 1
        }
        return (buffer, next)
    }

    /// One record. A chunk the store lacks or cannot read becomes a failure record, so one bad
    /// chunk does not cost the client the rest of the batch.
    private func append(_ id: ChunkID, to buffer: inout ByteBuffer) {
        guard let location = locations[id] else {
            let message = Array("chunk \(id.hex) is missing from the server's store".utf8)
            buffer.writeBytes(ChunkRecord.header(id: id.bytes, status: .missing, length: message.count))
            buffer.writeBytes(message)
            return
        }
        let mark = buffer.writerIndex
        do {
            buffer.reserveCapacity(minimumWritableBytes: ChunkRecord.headerBytes + location.length)
            buffer.writeBytes(ChunkRecord.header(id: id.bytes, status: .ok, length: location.length))
            try buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: location.length) { out in
                try chunks.readStored(at: location, id: id, into: out.baseAddress!)
                return location.length
            }
        } catch {
            buffer.moveWriterIndex(to: mark)
            let message = Array("\(error)".utf8)
            buffer.writeBytes(ChunkRecord.header(id: id.bytes, status: .unreadable, length: message.count))
            buffer.writeBytes(message)
        }
    }
}
