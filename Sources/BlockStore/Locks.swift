import Foundation
import Core

/// An advisory `flock` on a file under `locks/`, released when this object goes away (or the
/// process dies, even by kill -9). The file records the last exclusive owner's pid, start time and
/// purpose; who holds the lock now is read from the kernel (`LockHolders`), since the record
/// outlives its owner and shared holders write none.
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
                    guard errno == EINTR else { throw UnderstudyError.errno("flock", path: path) }
                }
            } else {
                throw UnderstudyError(.locked, "cannot \(purpose): \(LockHolders.describe(file)) holds \(path)", at: .init(path: path))
            }
        }
        if shared { return }  // many holders: the record names the exclusive one only
        let record = "pid=\(getpid()) started=\(Date().timeIntervalSince1970) purpose=\(purpose)\n"
        _ = ftruncate(file.fd, 0)
        try Array(record.utf8).withUnsafeBytes { (raw) throws in try file.write(raw, at: 0) }
    }
}
