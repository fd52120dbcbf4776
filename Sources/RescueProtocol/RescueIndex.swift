/// A recovery point's block map as the rescue client needs it: each distinct non-zero chunk once
/// (its SHA-256 id and its stored, compressed length), then one entry per block naming its chunk,
/// or 0 for an all-zero block. Compact on purpose: 4 bytes a block, so a 1 TiB disk of 64 KiB
/// blocks is a 64 MiB map plus 36 bytes per distinct chunk.
///
/// Wire layout (little-endian), `application/vnd.understudy.index`:
/// magic "USTYIDX1", u32 version (1), u32 sector size, u64 point id, u64 disk size,
/// u32 block size, u32 reserved (0), u64 chunk count, u64 block count,
/// chunk count × (32-byte id, u32 stored length), block count × u32 (0 = zero, k = chunk k).
public struct RescueIndex: Sendable, Equatable {
    public static let magic = Array("USTYIDX1".utf8)
    public static let idBytes = 32
    static let headerBytes = 56

    public var point: Int64
    public var diskSize: Int64
    public var blockSize: Int
    public var sectorSize: Int
    /// The distinct chunk ids, 32 bytes each, back to back.
    public var chunkIDs: [UInt8]
    public var storedLengths: [UInt32]
    /// Per block: 0 for a zero block, else 1 + the chunk's position in `chunkIDs`.
    public var blocks: [UInt32]

    public init(point: Int64, diskSize: Int64, blockSize: Int, sectorSize: Int,
                chunkIDs: [UInt8], storedLengths: [UInt32], blocks: [UInt32]) {
        self.point = point
        self.diskSize = diskSize
        self.blockSize = blockSize
        self.sectorSize = sectorSize
        self.chunkIDs = chunkIDs
        self.storedLengths = storedLengths
        self.blocks = blocks
    }

    public var chunkCount: Int { storedLengths.count }
    public var blockCount: Int { blocks.count }

    public func chunkID(_ chunk: Int) -> ArraySlice<UInt8> {
        chunkIDs[chunk * Self.idBytes..<(chunk + 1) * Self.idBytes]
    }

    /// Bytes of block `block` (the last block may be short).
    public func length(ofBlock block: Int) -> Int {
        Int(min(Int64(blockSize), diskSize - Int64(block) * Int64(blockSize)))
    }

    /// Sum of the stored lengths: what a restore transfers at least.
    public var storedBytes: Int64 { storedLengths.reduce(0) { $0 + Int64($1) } }

    public func encoded() -> [UInt8] {
        var w = ByteWriter(capacity: Self.headerBytes + chunkCount * 36 + blockCount * 4)
        w.append(Self.magic)
        w.append(UInt32(1))
        w.append(UInt32(sectorSize))
        w.append(UInt64(bitPattern: point))
        w.append(UInt64(diskSize))
        w.append(UInt32(blockSize))
        w.append(UInt32(0))
        w.append(UInt64(chunkCount))
        w.append(UInt64(blockCount))
        for chunk in 0..<chunkCount {
            w.append(chunkID(chunk))
            w.append(storedLengths[chunk])
        }
        for entry in blocks { w.append(entry) }
        return w.bytes
    }

    /// Decodes and checks an index: sizes agree, every block names an existing chunk.
    public init(decoding bytes: [UInt8]) throws(WireError) {
        var r = ByteReader(bytes)
        guard Array(try r.take(8, "index magic")) == Self.magic else { throw WireError("not an Understudy block index (bad magic)") }
        let version = try r.uint32("index version")
        guard version == 1 else { throw WireError("block index version \(version) is newer than this client (1)") }
        sectorSize = Int(try r.uint32("sector size"))
        point = Int64(bitPattern: try r.uint64("point id"))
        let disk = try r.uint64("disk size")
        blockSize = Int(try r.uint32("block size"))
        _ = try r.uint32("reserved")
        let chunks = try r.uint64("chunk count")
        let count = try r.uint64("block count")
        guard disk <= UInt64(Int64.max), blockSize > 0, blockSize.nonzeroBitCount == 1 else {
            throw WireError("block index has a bad disk size \(disk) or block size \(blockSize)")
        }
        diskSize = Int64(disk)
        let expected = (disk + UInt64(blockSize) - 1) / UInt64(blockSize)
        guard count == expected else { throw WireError("block index lists \(count) blocks, a \(disk)-byte disk has \(expected)") }
        guard chunks <= count, UInt64(r.remaining) == chunks * 36 + count * 4 else {
            throw WireError("block index body is \(r.remaining) bytes, expected \(chunks * 36 + count * 4)")
        }
        var ids = [UInt8](), lengths = [UInt32]()
        ids.reserveCapacity(Int(chunks) * Self.idBytes)
        lengths.reserveCapacity(Int(chunks))
        for _ in 0..<chunks {
            ids.append(contentsOf: try r.take(Self.idBytes, "chunk id"))
            lengths.append(try r.uint32("stored length"))
        }
        var entries = [UInt32]()
        entries.reserveCapacity(Int(count))
        for block in 0..<Int(count) {
            let entry = try r.uint32("block entry")
            guard entry <= chunks else { throw WireError("block \(block) names chunk \(entry), the index has \(chunks)") }
            entries.append(entry)
        }
        chunkIDs = ids
        storedLengths = lengths
        blocks = entries
    }
}
