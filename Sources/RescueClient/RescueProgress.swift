import Foundation

/// Progress of a rescue restore on the console: bytes written, bytes transferred, reduction
/// ratio, rate and ETA. On a terminal one line rewritten in place; otherwise (a serial console, a
/// log) a full line every `interval` seconds, so serial-over-LAN shows it too.
public final class RescueProgress: @unchecked Sendable {
    let lock = NSLock()
    let started = Date()
    let isTTY: Bool
    let interval: Double
    let silent: Bool
    var lastPrint = Date.distantPast
    var diskBytes: Int64 = 0
    var transferTotal: Int64 = 0
    var written: Int64 = 0
    var transferred: Int64 = 0
    var baseline: Int64 = 0

    public init(silent: Bool = false, interval: Double = 5) {
        self.silent = silent
        self.interval = interval
        isTTY = isatty(2) != 0
    }

    /// `alreadyWritten` disk bytes were restored by an earlier run (resume).
    func begin(diskBytes: Int64, transferTotal: Int64, alreadyWritten: Int64) {
        lock.withLock {
            self.diskBytes = diskBytes
            self.transferTotal = transferTotal
            written = alreadyWritten
            baseline = alreadyWritten
        }
    }

    func update(writtenDelta: Int64, transferred total: Int64) {
        let line: String? = lock.withLock {
            written += writtenDelta
            transferred = total
            let now = Date()
            guard now.timeIntervalSince(lastPrint) >= (isTTY ? 0.5 : interval) else { return nil }
            lastPrint = now
            return render(now: now)
        }
        if let line, !silent { emit(line, final: false) }
    }

    func finish(_ text: String) {
        if !silent { emit(text, final: true) }
    }

    public func note(_ text: String) {
        if !silent { FileHandle.standardError.write(Data(((isTTY ? "\r\u{1B}[K" : "") + text + "\n").utf8)) }
    }

    private func render(now: Date) -> String {
        let seconds = max(now.timeIntervalSince(started), 0.001)
        let rate = Double(written - baseline) / seconds
        let ratio = transferred > 0 ? Double(written - baseline) / Double(transferred) : 0
        let fraction = diskBytes > 0 ? Double(written) / Double(diskBytes) : 1
        let left = rate > 0 ? Double(diskBytes - written) / rate : 0
        return String(format: "restored %@ of %@ (%.0f%%), received %@, reduction %.1f:1, %@/s, ETA %@",
                      Self.bytes(written), Self.bytes(diskBytes), fraction * 100, Self.bytes(transferred), ratio,
                      Self.bytes(Int64(rate)), Self.duration(left))
    }

    private func emit(_ line: String, final: Bool) {
        let text = isTTY ? "\r\u{1B}[K" + line + (final ? "\n" : "") : line + "\n"
        FileHandle.standardError.write(Data(text.utf8))
    }

    static func bytes(_ n: Int64) -> String {
        let units = ["B", "KiB", "MiB", "GiB", "TiB"]
        var value = Double(n), unit = 0
        while value >= 1024 && unit < units.count - 1 { value /= 1024; unit += 1 }
        return unit == 0 ? "\(n) B" : String(format: "%.1f %@", value, units[unit])
    }

    static func duration(_ seconds: Double) -> String {
        let s = Int(seconds.rounded())
        return s >= 3600 ? String(format: "%dh%02dm", s / 3600, s % 3600 / 60) : String(format: "%dm%02ds", s / 60, s % 60)
    }
}
