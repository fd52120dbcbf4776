public import Foundation

/// An advisory `flock` on a file under `locks/`, released when this object goes away (or the
/// process dies, even by kill -9). The file holds the owner's pid and start time, for messages and
/// for gc, which spares chunks touched after the oldest running writer started.
public final class StoreLock: Sendable {
    public let path: String
    private let file: FileDescriptor

    /// Takes the lock exclusively or fails at once with `.locked`, naming the holder.
    public init(path: String, purpose: String) throws {
        self.path = path
        file = try FileDescriptor(path: path, flags: O_RDWR | O_CREAT, mode: 0o644)
        if flock(file.fd, LOCK_EX | LOCK_NB) != 0 {
            let holder = (try? FileSystem.readFile(path)).map { String(decoding: $0, as: UTF8.self) } ?? ""
            let who = Self.describe(holder)
            throw StoreError(.locked, "cannot \(purpose): \(who.isEmpty ? "another process" : who) holds \(path)", at: .init(path: path))
        }
        let record = "pid=\(getpid()) started=\(Date().timeIntervalSince1970) purpose=\(purpose)\n"
        _ = ftruncate(file.fd, 0)
        try Array(record.utf8).withUnsafeBytes { (raw) throws in try file.write(raw, at: 0) }
    }

    private static func describe(_ record: String) -> String {
        let fields = Self.fields(record)
        guard let pid = fields["pid"] else { return "" }
        return "process \(pid) (\(fields["purpose"] ?? "unknown"))"
    }

    static func fields(_ record: String) -> [String: String] {
        var out: [String: String] = [:]
        for part in record.split(whereSeparator: { $0 == " " || $0 == "\n" }) {
            let kv = part.split(separator: "=", maxSplits: 1)
            if kv.count == 2 { out[String(kv[0])] = String(kv[1]) }
        }
        return out
    }

    /// Start times of the locks in `folder` matching `prefix` that a live process holds now.
    static func heldStartTimes(in folder: String, prefix: String) -> [Date] {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: folder) else { return [] }
        var out: [Date] = []
        for name in names where name.hasPrefix(prefix) {
            let path = folder + "/" + name
            let fd = open(path, O_RDONLY | O_CLOEXEC)
            guard fd >= 0 else { continue }
            defer { close(fd) }
            if flock(fd, LOCK_SH | LOCK_NB) == 0 {
                flock(fd, LOCK_UN)  // nobody holds it: a stale file from a dead process
                continue
            }
            let record = (try? FileSystem.readFile(path)).map { String(decoding: $0, as: UTF8.self) } ?? ""
            // A holder that has not written its record yet started just now.
            let started = Self.fields(record)["started"].flatMap(Double.init) ?? Date().timeIntervalSince1970
            out.append(Date(timeIntervalSince1970: started))
        }
        return out
    }
}
