import Foundation
import Testing
import TestSupport

/// `serve` is a group of services (scheduler, chunk service) that SIGTERM and SIGINT stop in
/// order: the process exits 0, soon, and the port is closed.
@Suite("serve: graceful shutdown on SIGTERM and SIGINT")
struct ServeShutdownTests {
    /// Sends `signal` to `process` and returns its exit status and the seconds it took, or nil if
    /// it was still running after `limit` seconds (then it is killed).
    static func stop(_ process: Process, with signal: Int32, limit: Double = 20) -> (status: Int32, seconds: Double)? {
        let start = Date()
        kill(process.processIdentifier, signal)
        while process.isRunning && Date().timeIntervalSince(start) < limit { usleep(20_000) }
        guard !process.isRunning else {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            return nil
        }
        process.waitUntilExit()
        // A death by the signal itself would show as an uncaught-signal termination.
        return (process.terminationReason == .exit ? process.terminationStatus : 128 + process.terminationStatus,
                Date().timeIntervalSince(start))
    }

    @Test(arguments: [SIGTERM, SIGINT])
    func theListenerAndTheSchedulerStopAndServeExitsZero(signal: Int32) throws {
        let h = RescueHarness()
        try h.capture(size: 1 << 20, seed: 71)
        try h.startServer()
        let running = try #require(h.server)
        let port = try #require(URL(string: h.url)?.port)
        let result = try #require(Self.stop(running.process, with: signal), "serve still running 20 s after signal \(signal)")
        h.server = nil
        #expect(result.status == 0, "serve exited \(result.status) after signal \(signal)")
        #expect(result.seconds < 10)
        // Nothing listens on the port any more.
        let probe = shell("exec 3<>/dev/tcp/127.0.0.1/\(port) && echo open || echo closed")
        #expect(probe.output.contains("closed"), "\(probe.output)")
    }

    @Test func theSchedulerAloneStopsOnSIGTERM() throws {
        let h = RescueHarness()
        try h.capture(size: 1 << 20, seed: 72)
        let running = h.cli.start(["serve", "--duration", "600"])
        // The scheduler says it runs (standard error) before it can be signalled usefully.
        var seen = Data()
        while !String(decoding: seen, as: UTF8.self).contains("scheduler running") {
            let chunk = running.stderr.fileHandleForReading.availableData
            try #require(!chunk.isEmpty, "serve exited early: \(String(decoding: seen, as: UTF8.self))")
            seen.append(chunk)
        }
        let result = try #require(Self.stop(running.process, with: SIGTERM), "serve still running 20 s after SIGTERM")
        #expect(result.status == 0, "serve exited \(result.status) after SIGTERM")
    }
}
