public import Foundation

/// Runs the built `understudy` binary, as users do.
public struct CLI: Sendable {
    public struct Result: Sendable {
        public var status: Int32
        public var stdout: String
        public var stderr: String
        public var output: String { stdout + stderr }

        public init(status: Int32, stdout: String, stderr: String) {
            self.status = status
            self.stdout = stdout
            self.stderr = stderr
        }
    }

    public let store: String

    public init(store: String) { self.store = store }

    /// The binary next to the test bundle (or `UNDERSTUDY_BIN`).
    public static var binary: String {
        if let path = ProcessInfo.processInfo.environment["UNDERSTUDY_BIN"] { return path }
        let exe = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        return URL(fileURLWithPath: exe).deletingLastPathComponent().appendingPathComponent("understudy").path
    }

    /// Runs `understudy ARGS --store STORE` to completion.
    @discardableResult
    public func run(_ args: [String], withStore: Bool = true) throws -> Result {
        let process = start(args, withStore: withStore)
        let out = process.stdout.fileHandleForReading.readDataToEndOfFile()
        let err = process.stderr.fileHandleForReading.readDataToEndOfFile()
        process.process.waitUntilExit()
        return Result(status: process.process.terminationStatus, stdout: String(decoding: out, as: UTF8.self),
                      stderr: String(decoding: err, as: UTF8.self))
    }

    public struct Running: @unchecked Sendable {
        public let process: Process
        public let stdout: Pipe
        public let stderr: Pipe
        public func kill() { Foundation.kill(process.processIdentifier, SIGKILL); process.waitUntilExit() }
    }

    /// Starts `understudy ARGS --store STORE` without waiting.
    public func start(_ args: [String], withStore: Bool = true) -> Running {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Self.binary)
        process.arguments = args + (withStore ? ["--store", store] : [])
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try! process.run()
        return Running(process: process, stdout: out, stderr: err)
    }

    /// Captures and returns the new point id, failing loudly.
    public func capture(_ machine: String, _ source: String, _ extra: [String] = []) throws -> Int64 {
        let result = try run(["capture", machine, source] + extra)
        guard result.status == 0, let id = Int64(result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)) else {
            throw CLIError(message: "capture failed (\(result.status)): \(result.output)")
        }
        return id
    }
}

public struct CLIError: Error, CustomStringConvertible {
    public var message: String
    public init(message: String) { self.message = message }
    public var description: String { message }
}

/// Runs a system command; returns its status and combined output.
@discardableResult
public func shell(_ command: String) -> (status: Int32, output: String) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/bin/bash")
    process.arguments = ["-c", command]
    let pipe = Pipe()
    process.standardOutput = pipe
    process.standardError = pipe
    try! process.run()
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return (process.terminationStatus, String(decoding: data, as: UTF8.self))
}
