import BlockStore
import Foundation
import Synchronization
import Core

/// Progress on a terminal: bytes done, rate, ETA, redrawn at most five times a second.
final class TerminalProgress: ProgressReporter {
    private struct State {
        var phase = ""
        var total: Int64 = 0
        var started = Date()
        var lastDraw = Date.distantPast
    }
    private let state = Mutex(State())

    func start(phase: String, total: Int64) {
        state.withLock { $0 = State(phase: phase, total: total, started: Date()) }
    }

    func update(done: Int64) {
        let line: String? = state.withLock { s in
            let now = Date()
            guard now.timeIntervalSince(s.lastDraw) >= 0.2 else { return nil }
            s.lastDraw = now
            return Self.render(phase: s.phase, done: done, total: s.total, elapsed: now.timeIntervalSince(s.started))
        }
        if let line { FileHandle.standardError.write(Data(("\r\u{1B}[K" + line).utf8)) }
    }

    func note(_ message: String) {
        FileHandle.standardError.write(Data(("\r\u{1B}[K" + message + "\n").utf8))
    }

    func finish() {
        FileHandle.standardError.write(Data("\r\u{1B}[K".utf8))
    }

    static func render(phase: String, done: Int64, total: Int64, elapsed: Double) -> String {
        let rate = elapsed > 0 ? Double(done) / elapsed : 0
        let percent = total > 0 ? Double(done) * 100 / Double(total) : 0
        let eta = rate > 0 ? Double(total - done) / rate : .infinity
        let isBytes = phase != "verify chunks"
        let amount = isBytes ? "\(Output.bytes(done)) / \(Output.bytes(total))" : "\(done) / \(total) chunks"
        let speed = isBytes ? "\(Output.bytes(Int64(rate)))/s" : String(format: "%.0f chunks/s", rate)
        return String(format: "%@  %@  %3.0f%%  %@  ETA %@", phase, amount, percent, speed, Output.duration(eta))
    }
}
