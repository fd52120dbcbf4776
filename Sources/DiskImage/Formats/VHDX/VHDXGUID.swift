import Foundation

/// A GUID as VHDX stores it: Windows mixed-endian (Data1 u32, Data2 u16, Data3 u16 little-endian,
/// then Data4's 8 bytes as written).
struct VHDXGUID: Hashable, CustomStringConvertible {
    /// The 16 bytes in on-disk order.
    let bytes: [UInt8]

    init(bytes: [UInt8]) { self.bytes = bytes }

    /// From its text form, `2DC27766-F623-4200-9D64-115E9BFD4A08`.
    init(_ text: String) {
        let hex = Array(text.filter { $0 != "-" }.utf8)
        precondition(hex.count == 32, "malformed GUID \(text)")
        let display = (0..<16).map { i in UInt8(String(decoding: hex[(2 * i)..<(2 * i + 2)], as: UTF8.self), radix: 16)! }
        bytes = Self.swapped(display)
    }

    static let zero = VHDXGUID(bytes: Array(repeating: 0, count: 16))

    static func random() -> VHDXGUID {
        VHDXGUID(bytes: swapped(withUnsafeBytes(of: UUID().uuid) { Array($0) }))
    }

    var isZero: Bool { bytes.allSatisfy { $0 == 0 } }

    var description: String {
        let d = Self.swapped(bytes)
        let h = VHDFields.hex(d).uppercased()
        let c = Array(h)
        return [c[0..<8], c[8..<12], c[12..<16], c[16..<20], c[20..<32]].map { String($0) }.joined(separator: "-")
    }

    /// Display order ↔ on-disk order: the first three fields are byte-swapped (an involution).
    private static func swapped(_ b: [UInt8]) -> [UInt8] {
        [b[3], b[2], b[1], b[0], b[5], b[4], b[7], b[6]] + b[8..<16]
    }
}
