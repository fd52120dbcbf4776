import BlockStore
import Foundation
import Core

extension QCOW2Format {
    /// Creates an empty qcow2 image over a read-only `backing` image (libvirt needs the backing
    /// format recorded): a guest booted on it writes only here, never to the backing image.
    /// Written aside and renamed; an existing overlay is replaced.
    public static func createOverlay(at path: String, backing: String, backingFormat: String, size: Int64) throws {
        let temp = path + ".tmp-\(getpid())"
        do {
            let file = try PlainImageFile(FileDescriptor(path: temp, flags: O_RDWR | O_CREAT | O_TRUNC))
            let image = try QCOW2Image(creating: file, size: size, compressed: false)
            image.backing = (backing, backingFormat)
            try image.flush()
            try file.file.sync()
            try FileSystem.rename(temp, to: path)
            try FileSystem.syncDirectory(of: path)
        } catch {
            unlink(temp)
            throw error
        }
    }
}
