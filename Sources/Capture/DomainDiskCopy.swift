public import BlockStore
import Dispatch
import Foundation
import Libvirt
import Core

/// A consistent copy of a libvirt domain's first disk, for `capture MACHINE libvirt:DOMAIN`
/// (failback: the standby's current state becomes points of the machine again).
///
/// qemu itself copies the disk through a push-mode backup job (see `Libvirt/Backup.swift`): the
/// copy is the disk as it was when the job started, even while the guest keeps writing, and it
/// reads through the whole image chain (a standby's overlay and its base). A shut-off domain is
/// started with paused CPUs for the copy and stopped again. The copy is a sparse raw file in
/// `STORE/tmp/`, removed after the capture (a pull-mode NBD export would avoid it; later).
public enum DomainDiskCopy {
    public static let prefix = "libvirt:"

    /// Copies the domain's first disk into a new raw file and returns its path.
    public static func copy(domain name: String, uri: String, into store: Store) throws -> String {
        let conn: Connection
        do { conn = try Connection(uri: uri) } catch {
            throw UnderstudyError(.notFound, "cannot reach libvirt at \(uri): \(error.message)")
        }
        guard let domain = try call("looking up domain \(name)", { try conn.domain(named: name) }) else {
            throw UnderstudyError(.notFound, "libvirt domain \(name) does not exist at \(uri)")
        }
        let xml = try call("reading domain \(name)", { try domain.xmlDescription() })
        guard let disk = firstDiskTarget(xml) else {
            throw UnderstudyError(.unsupported, "libvirt domain \(name) has no disk to capture")
        }
        let folder = store.layout.tmp
        try FileSystem.makeDirectory(folder, mode: 0o755)
        chmod(folder, 0o755)
        let file = folder + "/\(name)-\(disk)-\(UUID().uuidString.prefix(8)).raw"
        let wasRunning = try call("reading the state of \(name)", { try domain.isActive() })
        if !wasRunning { try call("starting \(name) paused to copy its disk", { try domain.startPaused() }) }
        defer { if !wasRunning { try? domain.destroy() } }
        let backup = PushBackup(targets: [BackupTarget(disk: disk, file: file, format: "raw")])
        let done = DispatchSemaphore(value: 0)
        let failure = Box()
        let job = Task {
            do { _ = try await domain.backup(backup) } catch { failure.error = error }
            done.signal()
        }
        done.wait()
        _ = job
        if let error = failure.error {
            unlink(file)
            throw UnderstudyError(.io, "copying disk \(disk) of \(name): \((error as? LibvirtError)?.message ?? "\(error)")")
        }
        return file
    }

    /// The target name (`vda`, `sda`) of the first `<disk device='disk'>` in a domain XML.
    static func firstDiskTarget(_ xml: String) -> String? {
        guard let start = xml.range(of: "device='disk'") ?? xml.range(of: "device=\"disk\""),
              let end = xml.range(of: "</disk>", range: start.upperBound..<xml.endIndex) else { return nil }
        let block = xml[start.upperBound..<end.lowerBound]
        guard let match = block.firstMatch(of: /<target dev=['"]([A-Za-z0-9]+)['"]/) else { return nil }
        return String(match.1)
    }

    private static func call<T>(_ what: String, _ body: () throws -> T) throws -> T {
        do { return try body() } catch let error as LibvirtError {
            throw UnderstudyError(.io, "\(what): \(error.message)")
        }
    }

    private final class Box: @unchecked Sendable { var error: (any Error)? }
}
