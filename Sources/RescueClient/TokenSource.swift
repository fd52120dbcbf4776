import Foundation
import Glibc

/// Where `understudy-rescue` takes its access token from. A command-line argument is readable by
/// every user of the machine (`ps`, `/proc/PID/cmdline`), so the token comes from a file
/// (`--token-file PATH`), standard input (`--token-file -`) or the environment
/// (`UNDERSTUDY_TOKEN`, readable only by the same user and root); `--token` still works, with a
/// warning.
public enum TokenSource {
    public static let environmentVariable = "UNDERSTUDY_TOKEN"

    public struct Resolved: Sendable {
        public var token: String
        /// Said on stderr before anything else happens (the --token warning).
        public var warning: String?
    }

    /// Picks the token: `--token-file`, then `--token`, then the environment. Both options at once
    /// are refused, as is an empty or unreadable source.
    public static func resolve(argument: String?, file: String?, environment: [String: String]? = nil) throws -> Resolved {
        let environment = environment ?? ProcessInfo.processInfo.environment
        if argument != nil && file != nil {
            throw RescueError("give the token one way: --token-file or --token, not both")
        }
        if let file {
            let token = file == "-" ? try fromStandardInput() : try fromFile(file)
            return Resolved(token: token, warning: nil)
        }
        if let argument {
            return Resolved(token: try nonEmpty(argument, "--token"),
                            warning: "warning: a token given with --token is visible to every user of this machine (ps, /proc); use --token-file FILE, --token-file - (standard input) or \(environmentVariable) instead")
        }
        if let value = environment[environmentVariable] {
            return Resolved(token: try nonEmpty(value, environmentVariable), warning: nil)
        }
        throw RescueError("no access token: pass --token-file FILE (or --token-file - to read it from standard input), or set \(environmentVariable); create one on the server with `understudy token create --name NAME`")
    }

    static func fromFile(_ path: String) throws -> String {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw RescueError("cannot read the token file \(path): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var bytes = [UInt8](repeating: 0, count: 4097)
        let n = read(fd, &bytes, bytes.count)
        guard n >= 0 else { throw RescueError("cannot read the token file \(path): \(String(cString: strerror(errno)))") }
        guard n <= 4096 else { throw RescueError("the token file \(path) is larger than 4 KiB; a token is one short line") }
        let line = String(decoding: bytes[..<n], as: UTF8.self).split(whereSeparator: \.isNewline).first.map(String.init) ?? ""
        return try nonEmpty(line, "the token file \(path)")
    }

    /// The first line of standard input; on a terminal, asked for without echoing it.
    static func fromStandardInput() throws -> String {
        let terminal = isatty(STDIN_FILENO) != 0
        var saved = termios()
        if terminal {
            FileHandle.standardError.write(Data("Access token: ".utf8))
            tcgetattr(STDIN_FILENO, &saved)
            var silent = saved
            silent.c_lflag &= ~tcflag_t(ECHO)
            tcsetattr(STDIN_FILENO, TCSANOW, &silent)
        }
        let line = readLine(strippingNewline: true)
        if terminal {
            tcsetattr(STDIN_FILENO, TCSANOW, &saved)
            FileHandle.standardError.write(Data("\n".utf8))
        }
        guard let line else { throw RescueError("--token-file -: standard input ended before a token was read") }
        return try nonEmpty(line, "the token on standard input")
    }

    private static func nonEmpty(_ text: String, _ what: String) throws -> String {
        let token = text.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !token.isEmpty else { throw RescueError("\(what) is empty: expected an access token (ust_...)") }
        return token
    }
}
