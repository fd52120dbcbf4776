public import BlockStore
public import RescueProtocol
import Core
import ChunkFormat

extension RescueIndex {
    /// A point's block map for the wire: walks the point's index pages (verified as read), numbers
    /// each distinct non-zero chunk by first use and looks up every stored length at once.
    public init(point: RecoveryPoint, store: Store) throws {
        var number: [ChunkID: UInt32] = [:]
        var ids: [ChunkID] = []
        var blocks = [UInt32](repeating: 0, count: point.blockCount)
        try BlockIndexReader.walk(point.index, chunks: store.chunks, page: { _, _, _ in true }) { id, block in
            guard !id.isZero else { return }
            if let n = number[id] {
                blocks[block] = n
            } else {
                ids.append(id)
                let n = UInt32(ids.count)
                number[id] = n
                blocks[block] = n
            }
        }
        let locations = try store.chunks.locations(of: ids)
        var flat = [UInt8]()
        flat.reserveCapacity(ids.count * RescueIndex.idBytes)
        var lengths = [UInt32]()
        lengths.reserveCapacity(ids.count)
        for id in ids {
            guard let location = locations[id] else {
                throw UnderstudyError(.missingChunk, "chunk \(id.hex) of machine \(point.machine) point \(point.id ?? 0) is missing from the store",
                                 at: .init(machine: point.machine, point: point.id, chunk: id.hex))
            }
            flat.append(contentsOf: id.bytes)
            lengths.append(UInt32(location.length))
        }
        self.init(point: point.id ?? 0, diskSize: point.diskSize, blockSize: point.blockSize, sectorSize: point.sectorSize,
                  chunkIDs: flat, storedLengths: lengths, blocks: blocks)
    }
}
