import Foundation
internal import Crypto

/// The name of a chunk: the SHA-256 of its plaintext. The all-zero value is reserved for
/// "all-zero block" (and "all-zero index page"), which is never stored.
public struct ChunkID: Hashable, Sendable, Comparable, CustomStringConvertible {
    public static let byteCount = 32
    /// The sentinel for an all-zero block or page.
    public static let zero = ChunkID(words: (0, 0, 0, 0))

    // Four words make hashing and comparing cheap; they hold the digest bytes in memory order.
    private var w0: UInt64, w1: UInt64, w2: UInt64, w3: UInt64

    private init(words: (UInt64, UInt64, UInt64, UInt64)) {
        (w0, w1, w2, w3) = words
    }

    /// Reads 32 bytes at `bytes`.
    public init(bytes: UnsafeRawPointer) {
        w0 = bytes.loadUnaligned(fromByteOffset: 0, as: UInt64.self)
        w1 = bytes.loadUnaligned(fromByteOffset: 8, as: UInt64.self)
        w2 = bytes.loadUnaligned(fromByteOffset: 16, as: UInt64.self)
        w3 = bytes.loadUnaligned(fromByteOffset: 24, as: UInt64.self)
    }

    public init?(bytes: some Collection<UInt8>) {
        guard bytes.count == 32 else { return nil }
        // Contiguous bytes (an array, a slice of one) are read in place: no copy per chunk.
        if let id = bytes.withContiguousStorageIfAvailable({ ChunkID(bytes: UnsafeRawPointer($0.baseAddress!)) }) {
            self = id
        } else {
            self = Array(bytes).withUnsafeBytes { ChunkID(bytes: $0.baseAddress!) }
        }
    }

    /// Parses 64 hex digits.
    public init?(hex: some StringProtocol) {
        let utf8 = Array(hex.utf8)
        guard utf8.count == 64 else { return nil }
        var out = [UInt8](repeating: 0, count: 32)
        for i in 0..<32 {
            guard let hi = Self.nibble(utf8[2 * i]), let lo = Self.nibble(utf8[2 * i + 1]) else { return nil }
            out[i] = hi << 4 | lo
        }
        self.init(bytes: out)
    }

    /// The SHA-256 of `data`.
    public static func hash(_ data: UnsafeRawBufferPointer) -> ChunkID {
        SHA256.hash(data: data).withUnsafeBytes { ChunkID(bytes: $0.baseAddress!) }
    }

    public var isZero: Bool { self == .zero }

    /// Writes the 32 bytes at `destination`.
    public func store(to destination: UnsafeMutableRawPointer) {
        destination.storeBytes(of: w0, toByteOffset: 0, as: UInt64.self)
        destination.storeBytes(of: w1, toByteOffset: 8, as: UInt64.self)
        destination.storeBytes(of: w2, toByteOffset: 16, as: UInt64.self)
        destination.storeBytes(of: w3, toByteOffset: 24, as: UInt64.self)
    }

    public var bytes: [UInt8] {
        var out = [UInt8](repeating: 0, count: 32)
        out.withUnsafeMutableBytes { store(to: $0.baseAddress!) }
        return out
    }

    public var hex: String {
        let digits = Array("0123456789abcdef".utf8)
        var out = [UInt8]()
        out.reserveCapacity(64)
        for byte in bytes {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 15)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    public var description: String { hex }

    public static func < (a: ChunkID, b: ChunkID) -> Bool { a.hex < b.hex }

    private static func nibble(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): c - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): c - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): c - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}

extension ChunkID: Codable {
    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let id = ChunkID(hex: text) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "not a chunk id: \(text)"))
        }
        self = id
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(hex)
    }
}
