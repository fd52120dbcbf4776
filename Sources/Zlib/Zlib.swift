internal import CZlib

/// A zlib failure: the C return code and zlib's message for it.
public struct ZlibError: Error, CustomStringConvertible, Sendable {
    /// The raw zlib return code (`Z_DATA_ERROR`, `Z_BUF_ERROR`, ...).
    public let code: Int32
    public let message: String
    public var description: String { "zlib: \(message) (\(code))" }

    init(code: Int32, function: String) {
        self.code = code
        let text = zError(code).map { String(cString: $0) } ?? "error"
        message = "\(function): \(text)"
    }
}

/// Reads the zlib result right after the call, as every wrapper here does.
@inline(__always)
func check(_ result: Int32, _ function: String, accept: Int32 = Z_OK) throws(ZlibError) {
    if result != accept { throw ZlibError(code: result, function: function) }
}

/// Compresses buffers one at a time into zlib streams (RFC 1950: header, deflate data, Adler-32),
/// reusing one deflate state. Not thread-safe: use one per thread.
/// The corresponding C type is `z_stream` driven by `deflateInit_`, `deflateReset`, `deflate`.
public final class Deflater {
    private let stream: UnsafeMutablePointer<z_stream>
    public let level: Int32

    /// `level` 1 (fastest) to 9 (smallest); zlib's default is 6.
    public init(level: Int32) {
        self.level = level
        stream = .allocate(capacity: 1)
        stream.initialize(to: z_stream())
        // deflateInit is a C macro; its function form takes the header's version and struct size.
        let result = deflateInit_(stream, level, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size))
        guard result == Z_OK else { fatalError("deflateInit: \(ZlibError(code: result, function: "deflateInit"))") }
    }

    deinit {
        deflateEnd(stream)
        stream.deinitialize(count: 1)
        stream.deallocate()
    }

    /// The largest stream `count` input bytes can become. The corresponding C function is `deflateBound`.
    public func bound(_ count: Int) -> Int { Int(deflateBound(stream, UInt(count))) }

    /// Compresses `input` into one complete zlib stream in `output` (at least `bound(input.count)`
    /// bytes); returns the stream's length.
    public func compress(_ input: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer) throws(ZlibError) -> Int {
        try check(deflateReset(stream), "deflateReset")
        stream.pointee.next_in = UnsafeMutablePointer(mutating: input.baseAddress?.assumingMemoryBound(to: Bytef.self))
        stream.pointee.avail_in = UInt32(input.count)
        stream.pointee.next_out = output.baseAddress?.assumingMemoryBound(to: Bytef.self)
        stream.pointee.avail_out = UInt32(output.count)
        // One call with Z_FINISH: the output buffer is large enough for the whole stream.
        try check(deflate(stream, Z_FINISH), "deflate", accept: Z_STREAM_END)
        return output.count - Int(stream.pointee.avail_out)
    }
}

@available(*, unavailable)
extension Deflater: Sendable {}

/// Expands one zlib stream into `output`; returns how many bytes it produced.
/// The corresponding C function is `uncompress`.
public func inflate(_ input: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer) throws(ZlibError) -> Int {
    var length = uLongf(output.count)
    try check(uncompress(output.baseAddress?.assumingMemoryBound(to: Bytef.self), &length,
                         input.baseAddress?.assumingMemoryBound(to: Bytef.self), uLong(input.count)), "uncompress")
    return Int(length)
}
