public import Foundation

/// An advisory `flock` on a file under `locks/`, released when this object goes away (or the
/// process dies, even by kill -9). The file holds the owner's pid and start time, for messages and
/// for gc, which spares chunks touched after the oldest running writer started.
public final class StoreLock: Sendable {
    public let path: String
    private let file: FileDescriptor

    /// Takes the lock, exclusive or `shared`. Without `wait` it fails at once with `.locked`,
    /// naming the holder; with `wait` it calls `waiting` once and blocks until it gets the lock.
    public init(path: String, purpose: String, shared: Bool = false, wait: Bool = false, waiting: () -> Void = {}) throws {
        self.path = path
        file = try FileDescriptor(path: path, flags: O_RDWR | O_CREAT, mode: 0o644)
        let mode = shared ? LOCK_SH : LOCK_EX
        // A holder that just finished may still be visible for a moment (a child process forked
        // elsewhere in this process holds a copy of its descriptor until it execs): retry briefly.
        var acquired = flock(file.fd, mode | LOCK_NB) == 0
        for _ in 0..<20 where !acquired {
            usleep(100_000)
            acquired = flock(file.fd, mode | LOCK_NB) == 0
        }
        if !acquired {
            if wait {
                waiting()
                while flock(file.fd, mode) != 0 {
                    guard errno == EINTR else { throw StoreError.errno("flock", path: path) }
                }
            } else {
                let holder = (try? FileSystem.readFile(path)).map { String(decoding: $0, as: UTF8.self) } ?? ""
                let who = Self.describe(holder)
                throw StoreError(.locked, "cannot \(purpose): \(who.isEmpty ? "another process" : who) holds \(path)", at: .init(path: path))
            }
        }
        if shared { return }  // many holders: the record names the exclusive one only
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
}
