/// Reading and writing fixed-width integers in on-disk structures.
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

    static func alignUp(_ value: Int64, _ alignment: Int64) -> Int64 { (value + alignment - 1) / alignment * alignment }

    static func divideUp(_ value: Int64, _ divisor: Int64) -> Int64 { (value + divisor - 1) / divisor }
}
