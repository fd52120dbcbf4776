import Foundation

/// A store with a captured machine, `understudy serve --listen` on a loopback port, and the
/// `understudy-rescue` binary built next to `understudy`.
public final class RescueHarness {
    public let dir = TempDir("rescue")
    public let cli: CLI
    public var server: CLI.Running?
    public var url = ""
    public var token = ""

    public static var rescueBinary: String {
        URL(fileURLWithPath: CLI.binary).deletingLastPathComponent().appendingPathComponent("understudy-rescue").path
    }

    public init() {
        cli = CLI(store: dir.file("store"))
    }

    deinit { stopServer() }

    /// A sparse random disk of `size` bytes captured as machine `m`; returns the point id.
    @discardableResult
    public func capture(size: Int, seed: UInt64, regions: Int = 40, machine: String = "m") throws -> Int64 {
        let disk = dir.file("\(machine)-source.img")
        try Disks.make(disk, size: size, seed: seed, regions: regions)
        return try cli.capture(machine, disk)
    }

    @discardableResult
    public func makeToken(_ name: String = "rescue") throws -> String {
        let r = try cli.run(["token", "create", "--name", name])
        guard r.status == 0 else { throw CLIError(message: "token create: \(r.output)") }
        token = r.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        return token
    }

    /// Starts the server on 127.0.0.1 (a free port) and waits for its address line.
    public func startServer(extra: [String] = []) throws {
        let running = cli.start(["serve", "--listen", "127.0.0.1:0", "--duration", "600"] + extra)
        server = running
        var seen = Data()
        while true {
            let chunk = running.stdout.fileHandleForReading.availableData
            if chunk.isEmpty {
                let err = String(decoding: running.stderr.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
                throw CLIError(message: "serve exited before listening: \(err)")
            }
            seen.append(chunk)
            let text = String(decoding: seen, as: UTF8.self)
            if let line = text.split(separator: "\n").first(where: { $0.hasPrefix("listening on ") }) {
                url = String(line.dropFirst("listening on ".count))
                return
            }
        }
    }

    public func stopServer() {
        server?.kill()
        server = nil
    }

    /// Runs `understudy-rescue` with the server filled in and the token in `UNDERSTUDY_TOKEN`
    /// (unless `tokenInEnvironment` is false); `environment` adds to or overrides the variables.
    public func rescue(_ args: [String], input: String? = nil, tokenInEnvironment: Bool = true,
                       environment: [String: String] = [:]) -> CLI.Result {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Self.rescueBinary)
        process.arguments = ["--server", url] + args
        var variables = ProcessInfo.processInfo.environment
        variables["UNDERSTUDY_TOKEN"] = tokenInEnvironment ? token : nil
        process.environment = variables.merging(environment) { $1 }
        let out = Pipe(), err = Pipe(), inp = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = inp
        try! process.run()
        if let input { inp.fileHandleForWriting.write(Data(input.utf8)) }
        try? inp.fileHandleForWriting.close()
        let o = out.fileHandleForReading.readDataToEndOfFile(), e = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return CLI.Result(status: process.terminationStatus, stdout: String(decoding: o, as: UTF8.self),
                          stderr: String(decoding: e, as: UTF8.self))
    }

    /// The exact disk of a point, restored locally, for comparisons.
    public func localRestore(_ machine: String = "m", point: Int64? = nil) throws -> String {
        let path = dir.file("\(machine)-\(point.map(String.init) ?? "latest").raw")
        let r = try cli.run(["restore", machine, path] + (point.map { ["--point", String($0)] } ?? []))
        guard r.status == 0 else { throw CLIError(message: "restore: \(r.output)") }
        return path
    }

    /// An HTTP request with curl, for the server's answers to bad or hostile requests.
    public func curl(_ args: String) -> (status: Int, body: String) {
        let r = shell("curl -s -o /dev/stdout -w '\\n%{http_code}' --max-time 20 \(args)")
        let lines = r.output.split(separator: "\n", omittingEmptySubsequences: false)
        return (Int(lines.last ?? "") ?? 0, lines.dropLast().joined(separator: "\n"))
    }
}
