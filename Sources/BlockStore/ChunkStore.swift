public import Foundation
public import Zstd

/// The chunk files of a store: `chunks/XYZ/<64 hex>`, one zstd frame each (the whole file), named by
/// the SHA-256 of the frame's plaintext. Reading verifies that name; writing goes through `ChunkStager`.
public final class ChunkStore: Sendable {
    /// Chunk folders are named by the first three hex digits of the id.
    static let prefixDigits = 3
    public let root: String

    init(root: String) { self.root = root }

    /// Creates the 4096 prefix folders.
    func create() throws {
        try FileSystem.makeDirectory(root)
        for prefix in 0..<4096 { try FileSystem.makeDirectory(root + "/" + Self.prefix(prefix)) }
    }

    static func prefix(_ value: Int) -> String {
        let hex = String(value, radix: 16)
        return String(repeating: "0", count: prefixDigits - hex.count) + hex
    }

    public func path(of id: ChunkID) -> String {
        let hex = id.hex
        return root + "/" + hex.prefix(Self.prefixDigits) + "/" + hex
    }

    /// Marks the chunk as used now (gc spares chunks touched after a writer started) and says
    /// whether it exists, with one system call.
    public func touch(_ id: ChunkID) -> Bool {
        utimensat(AT_FDCWD, path(of: id), nil, 0) == 0
    }

    public func contains(_ id: ChunkID) -> Bool { FileSystem.exists(path(of: id)) }

    /// The stored bytes of a chunk (its zstd frame), exactly as on disk.
    public func storedBytes(of id: ChunkID) throws -> [UInt8] {
        do {
            return try FileSystem.readFile(path(of: id))
        } catch let error as StoreError where error.code == .notFound {
            throw StoreError(.missingChunk, "chunk \(id.hex) is missing from the store", at: .init(chunk: id))
        }
    }

    /// Size on disk of a stored chunk, or nil if absent.
    public func storedSize(of id: ChunkID) -> Int? {
        var st = stat()
        return stat(path(of: id), &st) == 0 ? Int(st.st_size) : nil
    }

    public func remove(_ id: ChunkID) throws {
        if unlink(path(of: id)) != 0 && errno != ENOENT { throw StoreError.errno("unlink", path: path(of: id)) }
    }

    /// Every chunk file, with its modification time; files that are not chunk names are skipped.
    public func forEachChunk(_ body: (ChunkID, _ modified: timespec) throws -> Void) throws {
        for prefix in 0..<4096 {
            let folder = root + "/" + Self.prefix(prefix)
            guard let dir = opendir(folder) else {
                if errno == ENOENT { continue }
                throw StoreError.errno("opendir", path: folder)
            }
            defer { closedir(dir) }
            while let entry = readdir(dir) {
                let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                    String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
                }
                guard let id = ChunkID(hex: name) else { continue }
                var st = stat()
                guard stat(folder + "/" + name, &st) == 0 else { continue }
                try body(id, st.st_mtim)
            }
        }
    }
}

/// Anything that can hand out stored chunks: the local store, a remote server, a cache.
/// Formats and restore read through this, never through chunk files.
public protocol ChunkReader: Sendable {
    /// The stored bytes (zstd frame) of a chunk, unverified.
    func storedBytes(of id: ChunkID) throws -> [UInt8]
}

extension ChunkStore: ChunkReader {}

extension ChunkReader {
    /// Expands a chunk into `output` (its exact plaintext size) and verifies its SHA-256.
    public func read(_ id: ChunkID, into output: UnsafeMutableRawBufferPointer, using decompressor: Decompressor) throws {
        let frame = try storedBytes(of: id)
        try Self.expand(frame, id: id, into: output, using: decompressor)
    }

    /// Expands a stored frame of unknown plaintext size (index pages) and verifies it.
    public func read(_ id: ChunkID, using decompressor: Decompressor, maxSize: Int) throws -> [UInt8] {
        let frame = try storedBytes(of: id)
        let size = frame.withUnsafeBytes { frameContentSize($0) }
        guard let size, size <= maxSize else {
            throw StoreError(.corruptChunk, "chunk \(id.hex) is corrupt: not a zstd frame of at most \(maxSize) bytes", at: .init(chunk: id))
        }
        var out = [UInt8](repeating: 0, count: size)
        try out.withUnsafeMutableBytes { (buffer) throws in
            try Self.expand(frame, id: id, into: buffer, using: decompressor)
        }
        return out
    }

    /// Decompresses and checks the hash; every reader goes through here.
    public static func expand(_ frame: [UInt8], id: ChunkID, into output: UnsafeMutableRawBufferPointer,
                              using decompressor: Decompressor) throws {
        let ok: Bool = frame.withUnsafeBytes { raw in
            do { try decompressor.decompress(raw, into: output) } catch { return false }
            return true
        }
        guard ok, ChunkID.hash(UnsafeRawBufferPointer(output)) == id else {
            throw StoreError(.corruptChunk, "chunk \(id.hex) is corrupt: its content does not match its SHA-256 name", at: .init(chunk: id))
        }
    }
}
