import ArgumentParser
import Foundation
import RescueClient

/// `understudy-rescue`: runs in the rescue boot image and restores a recovery point from an
/// Understudy server onto this machine's disk (or into an image file).
@main
struct RescueCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "understudy-rescue",
        abstract: "Restore a recovery point from an Understudy server onto a disk (bare metal, P2V).",
        discussion: """
            Without --machine it asks: which machine, which point, which disk. Killed or cut off, the \
            same command continues where it stopped (a journal beside the target remembers).

            The access token: --token-file FILE (its first line), --token-file - (standard input; \
            asked for without echo on a terminal) or the environment variable UNDERSTUDY_TOKEN. \
            --token TOKEN also works but shows the token to every user of this machine (ps).
            """)

    @Option(help: "The server, e.g. http://10.0.0.5:8080 or https://backup:8443.") var server: String
    @Option(name: .customLong("token-file"), help: ArgumentHelp(
        "Read the access token (`understudy token create` on the server) from this file; - reads standard input.",
        valueName: "file")) var tokenFile: String?
    @Option(help: "The access token itself: visible to other users in ps; prefer --token-file or UNDERSTUDY_TOKEN.") var token: String?
    @Option(help: "The machine to restore; without it the client asks.") var machine: String?
    @Option(help: "The point: an id, `latest`, or @ISO8601-time.") var point = "latest"
    @Option(help: "The disk (/dev/sdX) or image file to write.") var target: String?
    @Flag(help: "Read the target back afterwards and check every block.") var verify = false
    @Flag(help: "Overwrite a disk holding a partition table or file system without asking.") var yes = false
    @Option(help: "The resume journal (default: beside a file target, /run/understudy-rescue/ for a disk).") var journal: String?
    @Option(name: .customLong("ca-cert"), help: "PEM certificate to trust for https (a private CA or the server's own).") var caCert: String?
    @Flag(help: "Do not check the server's TLS certificate.") var insecure = false
    @Option(help: "Requests in flight.") var inFlight = 4
    @Option(help: "MiB written between checkpoints of the resume journal (at most what a rerun redoes).") var checkpointMib = 64
    @Option(help: "Seconds between progress lines when not on a terminal.") var progressInterval = 5.0
    @Flag(help: "Print the result as JSON on stdout.") var json = false

    func validate() throws {
        guard (1...64).contains(inFlight) else { throw ValidationError("--in-flight must be 1 to 64") }
        if machine != nil && target == nil { throw ValidationError("--target is needed with --machine (or give neither, to choose interactively)") }
    }

    func run() async throws {
        let connection: RescueConnection
        do {
            let resolved = try TokenSource.resolve(argument: token, file: tokenFile)
            if let warning = resolved.warning { FileHandle.standardError.write(Data("understudy-rescue: \(warning)\n".utf8)) }
            connection = try RescueConnection(.init(server: server, token: resolved.token, caCertificate: caCert, insecure: insecure))
        } catch let error as RescueError {
            FileHandle.standardError.write(Data("understudy-rescue: \(error.message)\n".utf8))
            throw ExitCode(1)
        }
        // The HTTP client is shut down exactly once, whatever happened, before the exit status.
        let outcome: Result<Int, any Error>
        do { outcome = .success(try await restore(connection)) } catch { outcome = .failure(error) }
        await connection.shutdown()
        switch outcome {
        case .success(let mismatches): if mismatches > 0 { throw ExitCode(1) }
        case .failure(let error as RescueError):
            FileHandle.standardError.write(Data("understudy-rescue: \(error.message)\n".utf8))
            throw ExitCode(1)
        case .failure(let error): throw error
        }
    }

    /// The restore (and --verify); returns the number of blocks that failed verification.
    func restore(_ connection: RescueConnection) async throws -> Int {
        var options: RescueRestore.Options
        if let machine, let target {
            options = RescueRestore.Options(machine: machine, point: point, target: target)
            options.yes = yes
        } else {
            options = try await Interactive(connection: connection).choose(point: point)
        }
        options.journal = journal
        options.inFlight = inFlight
        options.checkpointBytes = Int64(max(1, checkpointMib)) << 20
        let progress = RescueProgress(interval: progressInterval)
        let restore = RescueRestore(connection: connection, options: options, progress: progress, confirm: Interactive.confirm)
        let report = try await restore.run()
        var mismatches = 0
        if verify {
            let index = try await connection.index(of: options.machine, point: String(report.point))
            let bad = try TargetVerifier.verify(index, target: options.target)
            mismatches = bad.count
            progress.note(bad.isEmpty ? "verified: every block of \(options.target) matches point \(report.point)"
                          : "VERIFY FAILED: \(bad.count) blocks differ, first \(bad.prefix(5).map(\.description).joined(separator: ", "))")
        }
        if json { print(String(decoding: try JSONEncoder().encode(report), as: UTF8.self)) }
        return mismatches
    }
}
