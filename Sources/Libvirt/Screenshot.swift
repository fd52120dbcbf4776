internal import CLibvirt

/// An image of a domain's display as the hypervisor produced it: PNG on qemu 7.1 and later with
/// libvirt 9, PPM on older ones. `pngBytes()` gives a PNG either way.
public struct Screenshot: Sendable {
    /// The image file's bytes.
    public let bytes: [UInt8]
    /// The MIME type libvirt reported, e.g. `image/png` or `image/x-portable-pixmap`.
    public let mimeType: String

    public init(bytes: [UInt8], mimeType: String) {
        self.bytes = bytes
        self.mimeType = mimeType
    }

    /// Whether the bytes are a PNG (by signature, whatever the MIME type says).
    public var isPNG: Bool { bytes.starts(with: PNGEncoder.signature) }

    /// The screenshot as PNG: passed through if it already is one, converted from PPM otherwise.
    public func pngBytes() throws(LibvirtError) -> [UInt8] {
        if isPNG { return bytes }
        return PNGEncoder.encode(try RGBImage(ppm: bytes))
    }
}

extension Domain {
    /// Takes a screenshot of display `screen` of a running domain with graphics.
    /// The corresponding C functions are `virDomainScreenshot` and `virStreamRecv`.
    public func screenshot(screen: UInt32 = 0) throws(LibvirtError) -> Screenshot {
        let stream = try ByteStream(connection: connection, object: name)
        let mime = consumeString(try check(virDomainScreenshot(pointer, stream.handle, screen, 0), "virDomainScreenshot", site))
        let bytes = try stream.receiveAll()
        guard !bytes.isEmpty else {
            throw LibvirtError(code: .operationFailed, message: "the screenshot stream was empty",
                               operation: "virDomainScreenshot", uri: connection.uri, object: name)
        }
        return Screenshot(bytes: bytes, mimeType: mime)
    }
}
