import ArgumentParser
import BlockStore
import ChunkService
import Foundation
import Core

extension Understudy {
    struct TokenCommand: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "token", abstract: "Access tokens for rescue clients of `understudy serve --listen`.",
            subcommands: [Create.self, List.self, Revoke.self])

        struct Create: ParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Create a token and print it (it is shown only once).")
            @OptionGroup var global: GlobalOptions
            @Option(help: "A name for the token (who or what uses it).") var name: String
            @Option(help: ArgumentHelp("Write the token to this new file (mode 0600) instead of printing it, for `understudy-rescue --token-file`.",
                                       valueName: "path")) var file: String?

            func run() throws {
                let store = try global.openStore(create: true)
                // The file first: a token is only created if it can be kept.
                let fd = try file.map { path in
                    let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
                    guard fd >= 0 else { throw UnderstudyError(.invalidArgument, "cannot create token file \(path): \(String(cString: strerror(errno)))") }
                    return fd
                }
                let secret: String
                do { secret = try TokenStore(store: store).create(name: name) } catch {
                    if let fd, let file { close(fd); unlink(file) }
                    throw error
                }
                if let fd, let file {
                    let line = Array((secret + "\n").utf8)
                    let written = line.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
                    close(fd)
                    guard written == line.count else { throw UnderstudyError(.io, "cannot write token file \(file)") }
                    if global.json { Output.json(["name": name, "file": file]); return }
                    global.note("token '\(name)' created and written to \(file); use it with `understudy-rescue --token-file \(file)`")
                    return
                }
                if global.json { Output.json(["name": name, "token": secret]); return }
                print(secret)
                global.note("token '\(name)' created; it is not stored in clear, copy it now")
            }
        }

        struct List: ParsableCommand {
            static let configuration = CommandConfiguration(abstract: "List tokens (names and use, never secrets).")
            @OptionGroup var global: GlobalOptions

            func run() throws {
                let tokens = try TokenStore(store: try global.openStore()).list()
                if global.json { Output.json(tokens); return }
                print(Output.table(["NAME", "CREATED", "LAST USED"], tokens.map {
                    [$0.name, Output.time($0.created), $0.lastUsed.map(Output.time) ?? "never"]
                }), terminator: "")
            }
        }

        struct Revoke: ParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Revoke a token: its clients are refused from now on.")
            @OptionGroup var global: GlobalOptions
            @Argument var name: String

            func run() throws {
                try TokenStore(store: try global.openStore()).revoke(name: name)
                global.note("token '\(name)' revoked")
            }
        }
    }
}
