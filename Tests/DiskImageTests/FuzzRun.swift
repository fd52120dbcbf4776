import Foundation
import Synchronization
import TestSupport

/// Bookkeeping of one fuzz run (a kind and a phase): outcomes, the slowest mutant, and a
/// watchdog that ends the process, naming the mutant, if one runs past the hang limit. A trap
/// ends the process too, so the last mutant started is also written to `UNDERSTUDY_FUZZ_TRACE`
/// (when set) for the long run's script to name. Results go to stdout and, as JSON lines, to
/// `UNDERSTUDY_FUZZ_REPORT`.
final class FuzzRun: @unchecked Sendable {
    static let hangSeconds = 10.0

    let kind: String
    let phase: String
    let seed: UInt64
    private(set) var mutants = 0
    private(set) var outcomes: [String: Int] = [:]
    private(set) var slowest = (seconds: 0.0, mutant: -1)
    private let started = Date()
    private let current = Mutex<(mutant: Int, since: Date)?>(nil)
    private let stopped = Mutex(false)
    private let trace: String?

    init(kind: String, phase: String, seed: UInt64) {
        self.kind = kind
        self.phase = phase
        self.seed = seed
        trace = ProcessInfo.processInfo.environment["UNDERSTUDY_FUZZ_TRACE"].map { "\($0).\(kind.replacingOccurrences(of: " ", with: "-")).\(phase)" }
        let thread = Thread { [weak self] in
            while let run = self, !run.stopped.withLock({ $0 }) {
                if let c = run.current.withLock({ $0 }), Date().timeIntervalSince(c.since) > Self.hangSeconds {
                    FileHandle.standardError.write(Data("FUZZ HANG: \(run.kind) \(run.phase) mutant \(c.mutant) (seed \(run.seed)) ran past \(Self.hangSeconds) s\n".utf8))
                    abort()
                }
                Thread.sleep(forTimeInterval: 0.25)
            }
        }
        thread.start()
    }

    deinit { stopped.withLock { $0 = true } }

    /// Runs mutant `n`; `body` returns its outcome ("refused", "accepted", ...).
    func run(_ n: Int, _ body: () throws -> String) rethrows {
        if let trace { try? Data("\(kind) \(phase) seed \(seed) mutant \(n)\n".utf8).write(to: URL(fileURLWithPath: trace)) }
        let start = Date()
        current.withLock { $0 = (n, start) }
        let outcome = try body()
        current.withLock { $0 = nil }
        let seconds = Date().timeIntervalSince(start)
        if seconds > slowest.seconds { slowest = (seconds, n) }
        mutants += 1
        outcomes[outcome, default: 0] += 1
    }

    /// Replaces one `outcome` already counted by a finer one (judged outside the timed run).
    func refine(_ outcome: String, as refined: String) {
        outcomes[outcome, default: 0] -= 1
        if outcomes[outcome] == 0 { outcomes[outcome] = nil }
        outcomes[refined, default: 0] += 1
    }

    /// Prints the summary and appends it to the report file.
    func finish() {
        stopped.withLock { $0 = true }
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        let seconds = Date().timeIntervalSince(started)
        let counts = outcomes.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
        print("fuzz \(kind) \(phase): \(mutants) mutants (seed \(seed)) in \(String(format: "%.1f", seconds)) s: \(counts); slowest \(String(format: "%.3f", slowest.seconds)) s (mutant \(slowest.mutant)); process peak RSS \(usage.ru_maxrss / 1024) MiB")
        guard let path = ProcessInfo.processInfo.environment["UNDERSTUDY_FUZZ_REPORT"] else { return }
        let line: [String: Any] = ["kind": kind, "phase": phase, "seed": seed, "mutants": mutants, "outcomes": outcomes, "seconds": seconds,
                                   "slowestSeconds": slowest.seconds, "slowestMutant": slowest.mutant, "peakRSSKiB": usage.ru_maxrss]
        guard let json = try? JSONSerialization.data(withJSONObject: line, options: [.sortedKeys]) else { return }
        if !FileManager.default.fileExists(atPath: path) { _ = FileManager.default.createFile(atPath: path, contents: nil) }
        if let handle = FileHandle(forWritingAtPath: path) {
            handle.seekToEndOfFile()
            handle.write(json + Data("\n".utf8))
            try? handle.close()
        }
    }

    static func setting(_ name: String, default value: Int) -> Int {
        ProcessInfo.processInfo.environment[name].flatMap { Int($0) } ?? value
    }
}
