import BlockStore
import Foundation
import Core

/// What a build asks of a format.
public struct ImageOptions: Sendable {
    /// The format's variant (`--subformat`), or nil for its default.
    public var variant: String?
    /// qcow2: zstd-compressed clusters.
    public var compress = false
    /// VMDK streamOptimized: also package as an OVA.
    public var ova = false
    /// The store's block size: the unit `BlockSink.write` receives.
    public var blockSize: Int
    /// The guest disk's logical sector size (VHDX records it; 512 unless the source was 4Kn).
    public var logicalSectorSize = 512
    /// Machine name, for descriptors (VMDK, OVF) that carry one.
    public var machine = ""

    public init(blockSize: Int) { self.blockSize = blockSize }
}

/// One disk image format: how to write, update, read back and check it.
/// Each format lives in `Formats/NAME/`, with its on-disk layout in `Header.swift`.
public protocol DiskImageFormat: Sendable {
    /// The canonical name (`qcow2`, `vmdk`, `vhd`, `vhdx`, `raw`).
    static var name: String { get }
    /// Other names users type (`vpc` for vhd).
    static var aliases: [String] { get }
    /// Variants, the first being the default (`dynamic`, `fixed`; `monolithicSparse`, `streamOptimized`).
    static var variants: [String] { get }
    /// The largest virtual disk this format (variant) can hold.
    static func maxDiskSize(variant: String) -> Int64
    /// The virtual size an image of a `diskSize`-byte disk shows: `diskSize`, unless the format
    /// rounds it up (fixed VHD: to a whole MiB, as Azure requires); the extra bytes read as zeros.
    static func virtualSize(diskSize: Int64, variant: String) -> Int64
    /// How sure we are that a file starting with `header` (up to 64 KiB) and ending with `trailer`
    /// (its last 512 bytes) is this format: 0 not at all, 100 certain.
    static func probe(header: [UInt8], trailer: [UInt8], fileSize: Int64) -> Int
    /// Starts a new image of `diskSize` bytes in an empty file.
    static func create(_ file: any ImageFile, diskSize: Int64, options: ImageOptions) throws -> any BlockSink
    /// Opens an image this format wrote, to rewrite blocks in place; nil if the variant cannot be
    /// updated in place (the caller rebuilds it).
    static func openForUpdate(_ file: any ImageFile, options: ImageOptions) throws -> (any BlockSink)?
    /// A summary of the image's header.
    static func info(_ file: any ImageFile) throws -> ImageInfo
    /// Structural problems found (empty: sound).
    static func check(_ file: any ImageFile) throws -> [String]
}

/// Receives a point's blocks. Writes come in increasing offset order; offsets are multiples of
/// the store's block size and `data` is one block (the disk's last block may be shorter).
public protocol BlockSink: AnyObject {
    /// True if the sink uses the stored zstd frames (qcow2 compressed clusters).
    var wantsFrames: Bool { get }
    /// `frame` is the block's stored zstd frame when `wantsFrames` (it expands to one full block).
    func write(offset: Int64, data: UnsafeRawBufferPointer, frame: UnsafeRawBufferPointer?) throws
    /// Makes a range read as zeros (updates only; a new image already reads zeros where unwritten).
    func zero(offset: Int64, length: Int64) throws
    /// Writes the remaining metadata; the image is then complete (the caller syncs it).
    func finish() throws
    /// The guest bytes the image holds at `offset` (`buffer.count` of them), read as QEMU reads
    /// them: what an update checks before it trusts the blocks it will not rewrite. Update sinks
    /// implement it; a new image's sink need not.
    func read(offset: Int64, into buffer: UnsafeMutableRawBufferPointer) throws
}

extension DiskImageFormat {
    public static func virtualSize(diskSize: Int64, variant: String) -> Int64 { diskSize }
}

extension BlockSink {
    public var wantsFrames: Bool { false }

    public func read(offset: Int64, into buffer: UnsafeMutableRawBufferPointer) throws {
        throw UnderstudyError(.unsupported, "this image cannot be read back while it is written")
    }
}

/// Reads exactly `buffer.count` bytes of `file` at `offset`; what lies past the end of the file
/// reads as zeros (a sparse tail).
func readFully(_ file: any ImageFile, at offset: Int64, into buffer: UnsafeMutableRawBufferPointer) throws {
    guard buffer.count > 0 else { return }
    let n = try file.read(into: buffer.baseAddress!, count: buffer.count, at: offset)
    if n < buffer.count { (buffer.baseAddress! + n).initializeMemory(as: UInt8.self, repeating: 0, count: buffer.count - n) }
}

/// A format's header, summarised for `understudy image info`.
public struct ImageInfo: Codable, Sendable {
    public var format: String
    public var variant: String
    public var virtualSize: Int64
    public var fileSize: Int64
    /// Format-specific fields (cluster size, block size, creator, ...).
    public var details: [String: String]

    public init(format: String, variant: String, virtualSize: Int64, fileSize: Int64, details: [String: String] = [:]) {
        self.format = format; self.variant = variant; self.virtualSize = virtualSize
        self.fileSize = fileSize; self.details = details
    }
}
