import Foundation
import Testing
import TestSupport

/// Issue #8, finding 9: the token never has to be on the command line, where `ps` shows it.
@Suite("Rescue client: the token from a file, standard input or the environment", .serialized)
struct RescueTokenTests {
    func rescue(_ h: RescueHarness, _ args: [String], environment: [String: String] = [:], input: String? = nil) -> CLI.Result {
        h.rescue(args, input: input, tokenInEnvironment: false, environment: environment)
    }

    @Test("--token-file, --token-file - and UNDERSTUDY_TOKEN each restore bit-exact, without a warning")
    func sources() throws {
        let h = RescueHarness()
        try h.capture(size: 3 << 20, seed: 560)
        try h.makeToken()
        try h.startServer()
        // `token create --file` keeps the new token in a file only its owner can read, not on stdout.
        let file = h.dir.file("token")
        let made = try h.cli.run(["token", "create", "--name", "filed", "--file", file])
        #expect(made.status == 0 && !made.output.contains("ust_") && made.stderr.contains("--token-file"), "\(made.output)")
        let mode = (try FileManager.default.attributesOfItem(atPath: file)[.posixPermissions] as? Int) ?? 0
        #expect(mode == 0o600, "token file mode \(String(mode, radix: 8))")
        #expect(try h.cli.run(["token", "create", "--name", "again", "--file", file]).stderr.contains("File exists"), "an existing file is never overwritten")
        let runs: [(String, [String], [String: String], String?)] = [
            ("file", ["--token-file", file], [:], nil),
            ("stdin", ["--token-file", "-"], [:], h.token + "\n"),
            ("environment", [], ["UNDERSTUDY_TOKEN": h.token], nil),
        ]
        for (name, args, environment, input) in runs {
            let target = h.dir.file("\(name).img")
            let r = rescue(h, args + ["--machine", "m", "--target", target], environment: environment, input: input)
            #expect(r.status == 0, "\(name): \(r.output)")
            #expect(!r.stderr.contains("visible"), "\(name): \(r.stderr)")
            #expect(Disks.equal(target, try h.localRestore()), "\(name)")
        }
        // Still accepted on the command line, with a warning that says why not to.
        let flag = rescue(h, ["--token", h.token, "--machine", "m", "--target", h.dir.file("flag.img")])
        #expect(flag.status == 0 && flag.stderr.contains("visible to every user") && flag.stderr.contains("--token-file"), "\(flag.output)")
    }

    @Test("while a restore waits on its server, ps does not show the token")
    func notInPS() throws {
        let h = RescueHarness()
        try h.makeToken()
        // A server that accepts and never answers keeps the client running.
        let listener = Process()
        listener.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        listener.arguments = ["python3", "-c", "import socket,time\ns=socket.socket()\ns.bind(('127.0.0.1',0))\ns.listen()\nprint(s.getsockname()[1],flush=True)\nc=s.accept()\ntime.sleep(60)"]
        let out = Pipe()
        listener.standardOutput = out
        try listener.run()
        defer { kill(listener.processIdentifier, SIGKILL); listener.waitUntilExit() }
        let port = String(decoding: out.fileHandleForReading.availableData, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        let client = Process()
        client.executableURL = URL(fileURLWithPath: RescueHarness.rescueBinary)
        client.arguments = ["--server", "http://127.0.0.1:\(port)", "--machine", "m", "--target", h.dir.file("t.img")]
        client.environment = ["UNDERSTUDY_TOKEN": h.token, "PATH": "/usr/bin:/bin"]
        client.standardError = FileHandle.nullDevice
        try client.run()
        defer { kill(client.processIdentifier, SIGKILL); client.waitUntilExit() }
        Thread.sleep(forTimeInterval: 1)
        try #require(client.isRunning, "the client ended before it could be looked at")
        let ps = shell("ps -eo pid,args")
        #expect(ps.output.contains("understudy-rescue --server http://127.0.0.1:\(port)"), "the client is not in ps: \(ps.output)")
        #expect(!ps.output.contains(h.token), "ps shows the token")
    }

    @Test("no token, an empty or missing token file, or two sources: one clear message and exit 1")
    func badSources() throws {
        let h = RescueHarness()
        h.url = "http://127.0.0.1:9"
        let target = h.dir.file("t.img")
        let none = rescue(h, ["--machine", "m", "--target", target])
        #expect(none.status == 1 && none.stderr.contains("no access token") && none.stderr.contains("UNDERSTUDY_TOKEN"), "\(none.output)")
        let missing = rescue(h, ["--token-file", h.dir.file("nope"), "--machine", "m", "--target", target])
        #expect(missing.status == 1 && missing.stderr.contains("cannot read the token file") && missing.stderr.contains("No such file"), "\(missing.output)")
        let emptyFile = h.dir.file("empty")
        _ = FileManager.default.createFile(atPath: emptyFile, contents: Data("\n".utf8))
        let empty = rescue(h, ["--token-file", emptyFile, "--machine", "m", "--target", target])
        #expect(empty.status == 1 && empty.stderr.contains("is empty"), "\(empty.output)")
        let closed = rescue(h, ["--token-file", "-", "--machine", "m", "--target", target], input: "")
        #expect(closed.status == 1 && closed.stderr.contains("standard input ended"), "\(closed.output)")
        let both = rescue(h, ["--token", "ust_x", "--token-file", emptyFile, "--machine", "m", "--target", target])
        #expect(both.status == 1 && both.stderr.contains("not both"), "\(both.output)")
        #expect(!FileManager.default.fileExists(atPath: target))
        let help = shell("'\(RescueHarness.rescueBinary)' --help")
        #expect(help.output.contains("--token-file") && help.output.contains("UNDERSTUDY_TOKEN") && help.output.contains("standard input"), "\(help.output)")
    }
}
