import Foundation
import RescueProtocol
import Testing

@Suite("Rescue protocol: wire formats")
struct ProtocolTests {
    func sample() -> RescueIndex {
        var ids = [UInt8]()
        for n in 0..<3 { ids += (0..<32).map { UInt8(($0 * 7 + n * 13) & 0xff) } }
        return RescueIndex(point: 42, diskSize: 5 * 65536 + 1000, blockSize: 65536, sectorSize: 512,
                           chunkIDs: ids, storedLengths: [100, 2000, 30000], blocks: [1, 0, 2, 1, 3, 0])
    }

    @Test("a block map survives encoding, and its fields mean what they say")
    func indexRoundTrip() throws {
        let index = sample()
        let decoded = try RescueIndex(decoding: index.encoded())
        #expect(decoded == index)
        #expect(decoded.blockCount == 6)
        #expect(decoded.length(ofBlock: 5) == 1000)
        #expect(decoded.length(ofBlock: 4) == 65536)
        #expect(decoded.storedBytes == 32100)
        #expect(index.encoded().count == 56 + 3 * 36 + 6 * 4)
    }

    @Test("a bad block map is refused with what is wrong")
    func indexRejects() {
        var bytes = sample().encoded()
        #expect(throws: WireError.self) { try RescueIndex(decoding: Array(bytes.dropLast())) }
        var magic = bytes
        magic[0] = UInt8(ascii: "X")
        #expect { try RescueIndex(decoding: magic) } throws: { "\($0)".contains("magic") }
        bytes[bytes.count - 4] = 9  // the last block names chunk 9 of 3
        #expect { try RescueIndex(decoding: bytes) } throws: { "\($0)".contains("names chunk 9") }
        #expect(throws: WireError.self) { try RescueIndex(decoding: []) }
    }

    @Test("chunk records split back into ids, statuses and payloads")
    func chunkRecords() throws {
        let a = [UInt8](repeating: 1, count: 32), b = [UInt8](repeating: 2, count: 32)
        var body = ChunkRecord.header(id: a, status: .ok, length: 3) + [9, 8, 7]
        body += ChunkRecord.header(id: b, status: .missing, length: 4) + Array("gone".utf8)
        let records = try ChunkRecord.decodeAll(body)
        #expect(records == [ChunkRecord(id: a, status: .ok, payload: [9, 8, 7]),
                            ChunkRecord(id: b, status: .missing, payload: ArraySlice("gone".utf8))])
        #expect(throws: WireError.self) { try ChunkRecord.decodeAll(Array(body.dropLast())) }
        #expect(try ChunkRecord.parseRequest(ChunkRecord.request([a[...], b[...]])) == [a, b])
        #expect(throws: WireError.self) { try ChunkRecord.parseRequest([1, 2, 3]) }
        #expect(throws: WireError.self) { try ChunkRecord.parseRequest([UInt8](repeating: 0, count: 32 * 1025)) }
    }
}
