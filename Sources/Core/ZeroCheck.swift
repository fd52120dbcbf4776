/// True if every byte of `data` is zero.
@inline(__always)
public func isAllZero(_ data: UnsafeRawBufferPointer) -> Bool {
    let words = data.count / 8
    let base = data.baseAddress!
    var i = 0
    // Check the first word early: most non-zero blocks exit here.
    while i < words {
        if base.loadUnaligned(fromByteOffset: i * 8, as: UInt64.self) != 0 { return false }
        i += 1
    }
    var j = words * 8
    while j < data.count {
        if data[j] != 0 { return false }
        j += 1
    }
    return true
}
