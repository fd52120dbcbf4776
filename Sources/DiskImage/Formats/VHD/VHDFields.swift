/// A fixed-size on-disk structure being read or built: integers at byte offsets in one
/// endianness (VHD is big-endian, VHDX little-endian), ASCII tags and raw byte runs.
struct VHDFields {
    var bytes: [UInt8]
    let bigEndian: Bool

    init(count: Int, bigEndian: Bool) {
        bytes = [UInt8](repeating: 0, count: count)
        self.bigEndian = bigEndian
    }

    init(_ bytes: [UInt8], bigEndian: Bool) {
        self.bytes = bytes
        self.bigEndian = bigEndian
    }

    func get<T: FixedWidthInteger>(_: T.Type, _ at: Int) -> T {
        bigEndian ? Binary.loadBE(T.self, bytes, at) : Binary.loadLE(T.self, bytes, at)
    }

    mutating func set<T: FixedWidthInteger>(_ value: T, _ at: Int) {
        if bigEndian { Binary.storeBE(value, &bytes, at) } else { Binary.storeLE(value, &bytes, at) }
    }

    func slice(_ at: Int, _ count: Int) -> [UInt8] { Array(bytes[at..<(at + count)]) }

    mutating func put(_ run: [UInt8], _ at: Int) {
        bytes.replaceSubrange(at..<(at + run.count), with: run)
    }

    /// A tag such as `conectix`: printable ASCII, or hex when it is not.
    func ascii(_ at: Int, _ count: Int) -> String {
        let run = slice(at, count)
        if run.allSatisfy({ $0 >= 0x20 && $0 < 0x7F }) { return String(decoding: run, as: UTF8.self) }
        return run.map { String($0, radix: 16) }.joined(separator: " ")
    }

    /// `value` rounded up to a multiple of `unit`.
    static func roundUp(_ value: Int64, _ unit: Int64) -> Int64 { Binary.alignUp(value, unit) }

    /// Lowercase hex, two digits a byte.
    static func hex(_ bytes: [UInt8]) -> String {
        let digits = Array("0123456789abcdef")
        return String(bytes.flatMap { [digits[Int($0 >> 4)], digits[Int($0 & 15)]] })
    }
}
