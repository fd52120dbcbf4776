import BlockStore
import Core

/// Writes a fixed VHD: the disk's bytes where they belong, then the footer at the (MiB-rounded)
/// end. Holes read as zeros, so the file stays sparse on the host even though the format is not.
final class VHDFixedSink: BlockSink {
    let file: any ImageFile
    /// The footer to write at `footerOffset` when done (nil for an update: it is already there).
    private let footer: [UInt8]?
    private let footerOffset: Int64

    /// A new fixed image; `diskSize` is rounded up to a whole MiB, as Azure requires.
    static func create(_ file: any ImageFile, diskSize: Int64) throws -> VHDFixedSink {
        let size = VHDFormat.fixedSize(diskSize)
        guard size <= VHDSpec.maxSize else { throw VHDFormat.tooLarge(diskSize, path: file.path) }
        let footer = VHDFooter(size: size, type: .fixed, dataOffset: .max).encoded()
        return VHDFixedSink(file: file, footer: footer, footerOffset: size)
    }

    static func update(_ file: any ImageFile, image: VHDImage) -> VHDFixedSink {
        VHDFixedSink(file: file, footer: nil, footerOffset: image.footerOffset)
    }

    private init(file: any ImageFile, footer: [UInt8]?, footerOffset: Int64) {
        self.file = file; self.footer = footer; self.footerOffset = footerOffset
    }

    func write(offset: Int64, data: UnsafeRawBufferPointer, frame: UnsafeRawBufferPointer?) throws {
        try checkRange(offset, Int64(data.count))
        try file.write(data, at: offset)
    }

    func zero(offset: Int64, length: Int64) throws {
        try checkRange(offset, length)
        try writeZeros(to: file, offset: offset, length: length)
    }

    func finish() throws {
        if let footer { try file.write(footer, at: footerOffset) }
        try VHDFormat.verify(file)
    }

    func read(offset: Int64, into buffer: UnsafeMutableRawBufferPointer) throws {
        try checkRange(offset, Int64(buffer.count))
        try readFully(file, at: offset, into: buffer)
    }

    /// Data must never reach the footer.
    private func checkRange(_ offset: Int64, _ length: Int64) throws {
        guard offset >= 0, offset + length <= footerOffset else {
            throw UnderstudyError(.invalidArgument, "write at \(offset)+\(length) lies beyond the fixed VHD's \(footerOffset) bytes",
                             at: .init(offset: offset, path: file.path))
        }
    }
}
