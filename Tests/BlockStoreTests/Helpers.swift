import BlockStore
import Capture
import DiskImage
import Foundation
import TestSupport

/// A store in a temp folder with capture and restore shortcuts.
final class TestStore: @unchecked Sendable {
    let dir = TempDir("store")
    let store: Store

    init() throws {
        store = try Store(path: dir.file("store"), create: true)
    }

    func capture(_ machine: String, _ source: String, blockSize: Int? = nil) throws -> RecoveryPoint {
        var options = CaptureOptions()
        options.blockSize = blockSize
        return try Capturer.capture(store: store, machine: machine, source: SourceDisk(source), options: options)
    }

    func restore(_ point: RecoveryPoint, to path: String, ignoreErrors: Bool = false) throws -> RestoreReport {
        var options = RawRestore.Options()
        options.force = true
        options.ignoreErrors = ignoreErrors
        return try RawRestore.restore(store: store, point: point, to: path, options: options)
    }

    var chunkFiles: [String] {
        let root = dir.file("store/chunks")
        return (FileManager.default.enumerator(atPath: root)?.allObjects as? [String] ?? [])
            .filter { $0.count == 68 }.map { root + "/" + $0 }
    }
}
