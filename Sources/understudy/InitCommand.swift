import ArgumentParser
import BlockStore

extension Understudy {
    struct Init: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create a store (capture also creates one on first use).")
        @OptionGroup var global: GlobalOptions

        func run() throws {
            let store = try global.openStore(create: true)
            if global.json {
                Output.json(["store": store.path, "format": String(Store.formatVersion)])
            } else {
                print(store.path)
            }
        }
    }
}
