/// Reading and writing fixed-width integers in on-disk structures, and the checked arithmetic
/// every reader uses on fields it read from a file. Such fields are untrusted: a damaged or
/// hostile image may hold any value, so nothing read from a file is converted with a trapping
/// initialiser or added, multiplied or shifted without these checks.
enum Binary {
    static func loadBE<T: FixedWidthInteger>(_: T.Type, _ bytes: [UInt8], _ at: Int) -> T {
        bytes.withUnsafeBytes { T(bigEndian: $0.loadUnaligned(fromByteOffset: at, as: T.self)) }
    }

    static func storeBE<T: FixedWidthInteger>(_ value: T, _ bytes: inout [UInt8], _ at: Int) {
        bytes.withUnsafeMutableBytes { $0.storeBytes(of: value.bigEndian, toByteOffset: at, as: T.self) }
    }

    static func loadLE<T: FixedWidthInteger>(_: T.Type, _ bytes: [UInt8], _ at: Int) -> T {
        bytes.withUnsafeBytes { T(littleEndian: $0.loadUnaligned(fromByteOffset: at, as: T.self)) }
    }

    static func storeLE<T: FixedWidthInteger>(_ value: T, _ bytes: inout [UInt8], _ at: Int) {
        bytes.withUnsafeMutableBytes { $0.storeBytes(of: value.littleEndian, toByteOffset: at, as: T.self) }
    }

    /// `value` rounded up to a multiple of `alignment` (> 0); saturates at `Int64.max` instead of trapping.
    static func alignUp(_ value: Int64, _ alignment: Int64) -> Int64 {
        let (product, overflow) = divideUp(value, alignment).multipliedReportingOverflow(by: alignment)
        return overflow ? .max : product
    }

    /// ⌈value / divisor⌉ for `value` ≥ 0 and `divisor` > 0, without the `value + divisor - 1` that can overflow.
    static func divideUp(_ value: Int64, _ divisor: Int64) -> Int64 {
        value / divisor + (value % divisor == 0 ? 0 : 1)
    }

    /// A file offset or length from an unsigned field; values past `Int64.max` become `Int64.max`,
    /// which every bounds check then rejects.
    static func offset<T: BinaryInteger>(_ field: T) -> Int64 { Int64(clamping: field) }

    /// `offset + length` if both are ≥ 0, the sum does not overflow and it is at most `limit`
    /// (a file's size); nil otherwise. The one test of "does this range lie inside the file".
    static func end(_ offset: Int64, _ length: Int64, within limit: Int64) -> Int64? {
        guard offset >= 0, length >= 0 else { return nil }
        let (end, overflow) = offset.addingReportingOverflow(length)
        return !overflow && end <= limit ? end : nil
    }

    /// `a * b` unless it overflows or is negative.
    static func product(_ a: Int64, _ b: Int64) -> Int64? {
        let (p, overflow) = a.multipliedReportingOverflow(by: b)
        return overflow || p < 0 ? nil : p
    }
}
