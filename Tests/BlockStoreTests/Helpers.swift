import BlockStore
import Capture
import DiskImage
import Foundation
import Testing
import TestSupport
import ChunkFormat

/// A store in a temp folder with capture and restore shortcuts.
final class TestStore: @unchecked Sendable {
    let dir = TempDir("store")
    let store: Store

    init(storage: ((StoreLayout) -> any PackStorage)? = nil) throws {
        store = try Store(path: dir.file("store"), create: true, storage: storage)
    }

    func capture(_ machine: String, _ source: String, blockSize: Int? = nil) throws -> RecoveryPoint {
        var options = CaptureOptions()
        options.blockSize = blockSize
        return try Capturer.capture(store: store, machine: machine, source: SourceDisk(source), options: options)
    }

    func restore(_ point: RecoveryPoint, to path: String, ignoreErrors: Bool = false) throws -> RestoreReport {
        var options = ImageBuilder.Options()
        options.force = true
        options.ignoreErrors = ignoreErrors
        return try ImageBuilder.build(store: store, point: point, to: path, options: options)
    }

    /// A disk image of `size` seeded random bytes in the store's temp folder; returns its path.
    func randomDisk(_ name: String = "disk.img", size: Int, seed: UInt64) -> String {
        let path = dir.file(name)
        var rng = SeededRandom(seed: seed)
        _ = FileManager.default.createFile(atPath: path, contents: Data(Disks.randomBytes(size, using: &rng)))
        return path
    }

    var chunkCount: Int { (try? store.chunks.count()) ?? -1 }

    var packFiles: [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: store.layout.packs)) ?? []).sorted()
    }

    /// Flips one byte in the middle of a chunk's stored frame.
    func flipByte(of id: ChunkID) throws {
        let location = try #require(try store.chunks.location(of: id))
        let h = try FileHandle(forUpdating: URL(fileURLWithPath: store.layout.pack(location.pack)))
        let at = UInt64(location.offset) + UInt64(location.length / 2)
        try h.seek(toOffset: at)
        let byte = h.readData(ofLength: 1)[0]
        try h.seek(toOffset: at)
        h.write(Data([byte ^ 0x40]))
        try h.close()
    }

    /// Cuts the chunk's pack inside the chunk's frame.
    func truncatePack(inside id: ChunkID) throws {
        let location = try #require(try store.chunks.location(of: id))
        truncate(store.layout.pack(location.pack), off_t(location.offset + 10))
    }
}
