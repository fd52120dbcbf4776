internal import CLibvirt

/// A blocking libvirt data stream, used to receive what an API call sends back (a screenshot).
/// The corresponding C type is `virStreamPtr`.
///
/// Not Sendable: a stream carries one transfer and must be driven from one thread.
final class ByteStream {
    private let pointer: OpaquePointer
    private let site: CallSite
    private var finished = false

    /// The corresponding C function is `virStreamNew`.
    init(connection: Connection, object: String?) throws(LibvirtError) {
        site = CallSite(uri: connection.uri, object: object)
        pointer = try check(virStreamNew(connection.pointer, 0), "virStreamNew", site)
    }

    /// Aborts an unfinished transfer, then frees the handle.
    /// The corresponding C functions are `virStreamAbort` and `virStreamFree`.
    deinit {
        if !finished { virStreamAbort(pointer) }
        virStreamFree(pointer)
    }

    var handle: OpaquePointer { pointer }

    /// Reads until the sender closes the stream, then finishes it. Fails if more than `limit`
    /// bytes arrive, so a confused peer cannot exhaust memory.
    /// The corresponding C functions are `virStreamRecv` and `virStreamFinish`.
    func receiveAll(limit: Int = 256 << 20) throws(LibvirtError) -> [UInt8] {
        var bytes: [UInt8] = []
        var chunk = [CChar](repeating: 0, count: 256 << 10)
        while true {
            let count = try check(virStreamRecv(pointer, &chunk, chunk.count), "virStreamRecv", site)
            if count == 0 { break }
            chunk.withUnsafeBytes { bytes.append(contentsOf: $0.prefix(Int(count))) }
            guard bytes.count <= limit else {
                throw LibvirtError(code: .operationFailed, message: "stream sent more than \(limit) bytes",
                                   operation: "virStreamRecv", uri: site.uri, object: site.object)
            }
        }
        try check(virStreamFinish(pointer), "virStreamFinish", site)
        finished = true
        return bytes
    }
}
