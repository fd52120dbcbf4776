import ArgumentParser
import ChunkService
import Foundation

extension Understudy {
    struct TokenCommand: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "token", abstract: "Access tokens for rescue clients of `understudy serve --listen`.",
            subcommands: [Create.self, List.self, Revoke.self])

        struct Create: ParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Create a token and print it (it is shown only once).")
            @OptionGroup var global: GlobalOptions
            @Option(help: "A name for the token (who or what uses it).") var name: String

            func run() throws {
                let secret = try TokenStore(store: try global.openStore(create: true)).create(name: name)
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
