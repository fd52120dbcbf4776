import Foundation
import Core

/// Who holds a `flock` now, from the kernel's table (`/proc/locks`), for "cannot …: process N
/// (understudy capture web1 …) holds …/gc.lock" messages that name a live process.
enum LockHolders {
    /// The processes holding a lock on `file`'s inode, described; "another process" if unknown.
    static func describe(_ file: FileDescriptor) -> String {
        let pids = holders(of: file)
        guard !pids.isEmpty else { return "another process (it may just have finished; retry)" }
        return pids.map { pid in
            let command = commandLine(of: pid)
            return "process \(pid)" + (command.isEmpty ? "" : " (\(command))")
        }.joined(separator: " and ")
    }

    /// Pids holding (not waiting for) a lock on the inode `file` is open on.
    static func holders(of file: FileDescriptor) -> [Int32] {
        var st = stat()
        guard fstat(file.fd, &st) == 0, let table = procFile("/proc/locks") else { return [] }
        let dev = UInt64(st.st_dev)
        let major = ((dev >> 8) & 0xfff) | ((dev >> 32) & ~UInt64(0xfff))
        let minor = (dev & 0xff) | ((dev >> 12) & ~UInt64(0xff))
        let wanted = "\(String(major, radix: 16, uppercase: false).leftPadded(2)):\(String(minor, radix: 16).leftPadded(2)):\(st.st_ino)"
        var pids: [Int32] = []
        // "1: FLOCK  ADVISORY  WRITE 32672 08:01:1234567 0 EOF"; waiters are shown as "1: -> FLOCK …".
        for line in String(decoding: table, as: UTF8.self).split(separator: "\n") {
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            guard fields.count >= 6, fields[1] == "FLOCK", fields[5] == wanted, let pid = Int32(fields[4]) else { continue }
            if !pids.contains(pid) { pids.append(pid) }
        }
        return pids
    }

    /// A /proc file, read to its end (they report a size of 0).
    static func procFile(_ path: String) -> [UInt8]? {
        guard let handle = FileHandle(forReadingAtPath: path) else { return nil }
        defer { try? handle.close() }
        return (try? handle.readToEnd()).map { Array($0) }
    }

    /// `/proc/PID/cmdline` as one line, shortened.
    static func commandLine(of pid: Int32) -> String {
        guard let raw = procFile("/proc/\(pid)/cmdline") else { return "" }
        let words = raw.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
        guard let first = words.first else { return "" }
        let line = ([(first as NSString).lastPathComponent] + words.dropFirst()).joined(separator: " ")
        return line.count > 100 ? String(line.prefix(97)) + "..." : line
    }
}

private extension String {
    func leftPadded(_ width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }
}
