import ChunkFormat
import Core
import Foundation
import Testing
import TestSupport
import Zstd

@Suite("Pack records: framed by one builder, checked by one expander")
struct PackRecordTests {
    static func plaintext(_ count: Int, seed: UInt64) -> [UInt8] {
        var rng = SeededRandom(seed: seed)
        // Half random, half repeated: compressible, but not to nothing.
        return (0..<count).map { $0 % 2 == 0 ? UInt8.random(in: 0...255, using: &rng) : 7 }
    }

    @Test func aBuiltRecordHasItsHeaderAndExpandsToItsPlaintext() throws {
        let builder = PackRecordBuilder(level: 3, maxPlainLength: 65536)
        let plain = Self.plaintext(65536, seed: 5)
        let id = plain.withUnsafeBytes { ChunkID.hash($0) }
        let record = Array(try plain.withUnsafeBytes { try builder.record(id, plaintext: $0) })
        let frame = Array(record[PackRecord.headerSize...])
        // The header, byte by byte: magic, frame length and plaintext length little-endian, zeros, the id.
        #expect(Array(record[0..<4]) == Array("UCHK".utf8))
        #expect(Int(record[4]) | Int(record[5]) << 8 | Int(record[6]) << 16 | Int(record[7]) << 24 == frame.count)
        #expect(Array(record[8..<12]) == [0x00, 0x00, 0x01, 0x00])  // 65536
        #expect(Array(record[12..<16]) == [0, 0, 0, 0])
        #expect(Array(record[16..<48]) == id.bytes)
        #expect(PackRecord.damagedFields(record[0..<48], id: id, frameLength: frame.count, plainLength: plain.count).isEmpty)
        #expect(frame.count < plain.count)

        var out = [UInt8](repeating: 0, count: plain.count)
        try out.withUnsafeMutableBytes { try ChunkFrame.expand(frame, id: id, into: $0, using: Decompressor()) }
        #expect(out == plain)
        // The zstd command-line tool reads the frame back: a standard frame, not a private format.
        let dir = TempDir()
        try Data(frame).write(to: URL(fileURLWithPath: dir.file("frame.zst")))
        let unzstd = shell("zstd -q -d -c \(dir.file("frame.zst")) > \(dir.file("plain")) 2>&1")
        #expect(unzstd.status == 0, "\(unzstd.output)")
        #expect(Array(try Data(contentsOf: URL(fileURLWithPath: dir.file("plain")))) == plain)
    }

    @Test func aChangedFrameOrHeaderIsNamed() throws {
        let builder = PackRecordBuilder(level: 3, maxPlainLength: 4096)
        let plain = Self.plaintext(4096, seed: 6)
        let id = plain.withUnsafeBytes { ChunkID.hash($0) }
        var record = Array(try plain.withUnsafeBytes { try builder.record(id, plaintext: $0) })
        let frameLength = record.count - PackRecord.headerSize
        record[PackRecord.headerSize + frameLength / 2] ^= 0x40
        var out = [UInt8](repeating: 0, count: plain.count)
        let error = #expect(throws: UnderstudyError.self) {
            try out.withUnsafeMutableBytes { try ChunkFrame.expand(Array(record[PackRecord.headerSize...]), id: id, into: $0, using: Decompressor()) }
        }
        #expect(error?.code == .corruptChunk && error?.location.chunk == id.hex)
        record[4] ^= 1
        record[20] ^= 1
        let wrong = PackRecord.damagedFields(record[0..<48], id: id, frameLength: frameLength, plainLength: plain.count)
        #expect(wrong.count == 2 && wrong[0].hasPrefix("frame length") && wrong[1] == "chunk id", "\(wrong)")
    }

    @Test func aChunkLargerThanTheBuilderIsRefused() throws {
        let builder = PackRecordBuilder(level: 3, maxPlainLength: 1024)
        let plain = Self.plaintext(2048, seed: 7)
        let id = plain.withUnsafeBytes { ChunkID.hash($0) }
        let error = #expect(throws: UnderstudyError.self) { _ = try plain.withUnsafeBytes { try builder.record(id, plaintext: $0) } }
        #expect(error?.code == .invalidArgument)
    }
}
