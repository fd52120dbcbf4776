import BlockStore

/// Raw: the disk's bytes, sparse where zero. The reference every other format is compared with.
public enum RawFormat: DiskImageFormat {
    public static let name = "raw"
    public static let aliases = ["img"]
    public static let variants = ["sparse"]

    public static func maxDiskSize(variant: String) -> Int64 { Int64.max }

    /// Anything is raw, so raw only wins when no other format claims the file.
    public static func probe(header: [UInt8], trailer: [UInt8], fileSize: Int64) -> Int { 1 }

    public static func create(_ file: any ImageFile, diskSize: Int64, options: ImageOptions) throws -> any BlockSink {
        try file.truncate(to: diskSize)
        return RawSink(file: file)
    }

    public static func openForUpdate(_ file: any ImageFile, options: ImageOptions) throws -> (any BlockSink)? {
        RawSink(file: file)
    }

    public static func info(_ file: any ImageFile) throws -> ImageInfo {
        ImageInfo(format: name, variant: "sparse", virtualSize: file.size, fileSize: file.size)
    }

    public static func check(_ file: any ImageFile) throws -> [String] { [] }
}

final class RawSink: BlockSink {
    let file: any ImageFile
    init(file: any ImageFile) { self.file = file }

    func write(offset: Int64, data: UnsafeRawBufferPointer, frame: UnsafeRawBufferPointer?) throws {
        try file.write(data, at: offset)
    }

    func zero(offset: Int64, length: Int64) throws {
        try writeZeros(to: file, offset: offset, length: length)
    }

    func finish() throws {}

    func read(offset: Int64, into buffer: UnsafeMutableRawBufferPointer) throws {
        try readFully(file, at: offset, into: buffer)
    }
}

/// Writes explicit zeros, 1 MiB at a time.
func writeZeros(to file: any ImageFile, offset: Int64, length: Int64) throws {
    let zeros = [UInt8](repeating: 0, count: Int(min(length, 1 << 20)))
    var done: Int64 = 0
    while done < length {
        let n = Int(min(Int64(zeros.count), length - done))
        try zeros.withUnsafeBytes { try file.write(UnsafeRawBufferPointer(rebasing: $0[0..<n]), at: offset + done) }
        done += Int64(n)
    }
}
