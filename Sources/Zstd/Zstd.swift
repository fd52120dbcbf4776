internal import CZstd

/// A zstd failure: the C error code and its message.
public struct ZstdError: Error, CustomStringConvertible, Sendable {
    /// The raw `ZSTD_ErrorCode`.
    public let code: Int
    public let message: String
    public var description: String { "zstd: \(message)" }

    init(result: Int) {
        self.code = Int(ZSTD_getErrorCode(result).rawValue)
        self.message = String(cString: ZSTD_getErrorName(result))
    }

    init(code: Int, message: String) {
        self.code = code
        self.message = message
    }

    /// The frame's declared size is unknown or not the expected one.
    public static func sizeMismatch(expected: Int, actual: Int) -> ZstdError {
        ZstdError(code: -1, message: "frame holds \(actual) bytes, expected \(expected)")
    }
}

/// Reads the zstd result right after the call, as every wrapper here does.
@inline(__always)
func check(_ result: Int) throws(ZstdError) -> Int {
    if ZSTD_isError(result) != 0 { throw ZstdError(result: result) }
    return result
}

/// The largest compressed size of `size` input bytes.
/// The corresponding C function is `ZSTD_compressBound`.
public func compressBound(_ size: Int) -> Int { ZSTD_compressBound(size) }

/// The decompressed size a frame declares, or nil if it does not declare one or is not a frame.
/// The corresponding C function is `ZSTD_getFrameContentSize`.
public func frameContentSize(_ frame: UnsafeRawBufferPointer) -> Int? {
    let size = ZSTD_getFrameContentSize(frame.baseAddress, frame.count)
    if size == ZSTD_CONTENTSIZE_ERROR || size == ZSTD_CONTENTSIZE_UNKNOWN { return nil }
    return Int(size)
}

/// The length of the first frame in `bytes` (which may go on past it: a qcow2 compressed cluster
/// ends on a sector boundary), or nil if `bytes` does not start with a whole frame.
/// The corresponding C function is `ZSTD_findFrameCompressedSize`.
public func frameCompressedSize(_ bytes: UnsafeRawBufferPointer) -> Int? {
    let size = ZSTD_findFrameCompressedSize(bytes.baseAddress, bytes.count)
    return ZSTD_isError(size) != 0 ? nil : size
}

/// A compression context. Not thread-safe: use one per thread.
/// The corresponding C type is `ZSTD_CCtx`.
public final class Compressor {
    private let cctx: OpaquePointer
    public let level: Int32

    public init(level: Int32) {
        guard let ctx = ZSTD_createCCtx() else { fatalError("ZSTD_createCCtx: out of memory") }
        cctx = ctx
        self.level = level
        _ = ZSTD_CCtx_setParameter(cctx, ZSTD_c_compressionLevel, level)
        _ = ZSTD_CCtx_setParameter(cctx, ZSTD_c_checksumFlag, 0)
        _ = ZSTD_CCtx_setParameter(cctx, ZSTD_c_contentSizeFlag, 1)
    }

    deinit { ZSTD_freeCCtx(cctx) }

    /// Compresses `input` into one frame in `output` (at least `compressBound(input.count)` bytes);
    /// returns the frame's length. The corresponding C function is `ZSTD_compress2`.
    public func compress(_ input: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer) throws(ZstdError) -> Int {
        try check(ZSTD_compress2(cctx, output.baseAddress, output.count, input.baseAddress, input.count))
    }
}

@available(*, unavailable)
extension Compressor: Sendable {}

/// A decompression context. Not thread-safe: use one per thread.
/// The corresponding C type is `ZSTD_DCtx`.
public final class Decompressor {
    private let dctx: OpaquePointer

    public init() {
        guard let ctx = ZSTD_createDCtx() else { fatalError("ZSTD_createDCtx: out of memory") }
        dctx = ctx
    }

    deinit { ZSTD_freeDCtx(dctx) }

    /// Decompresses one frame that must expand to exactly `output.count` bytes.
    /// The corresponding C function is `ZSTD_decompressDCtx`.
    public func decompress(_ frame: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer) throws(ZstdError) {
        guard let declared = frameContentSize(frame) else {
            throw ZstdError(code: -1, message: "not a zstd frame or no content size")
        }
        guard declared == output.count else { throw .sizeMismatch(expected: output.count, actual: declared) }
        let n = try check(ZSTD_decompressDCtx(dctx, output.baseAddress, output.count, frame.baseAddress, frame.count))
        guard n == output.count else { throw .sizeMismatch(expected: output.count, actual: n) }
    }
}

@available(*, unavailable)
extension Decompressor: Sendable {}
