import ArgumentParser
import BlockStore

extension Understudy {
    struct Forget: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Delete a recovery point from the catalog; `understudy gc` then frees its chunks.")
        @OptionGroup var global: GlobalOptions
        @Argument var machine: String
        @Argument(help: "The point id.") var point: Int64

        func run() throws {
            let store = try global.openStore()
            let removed = try store.forget(machine: machine, point: point)
            if global.json { Output.json(PointView(removed)); return }
            global.note("forgot point \(point) of \(machine) (\(Output.time(removed.time))); run `understudy gc` to free its chunks")
        }
    }

    struct GC: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "gc", abstract: "Delete chunks no recovery point refers to (safe while captures run).")
        @OptionGroup var global: GlobalOptions
        @Flag(help: "Count what would be deleted, delete nothing.") var dryRun = false
        @Flag(help: "Refuse instead of waiting when a capture is running.") var noWait = false
        @Option(help: ArgumentHelp("Rewrite packs until the space no live chunk needs is at most this percentage of what live chunks take (100: never rewrite).", valueName: "percent"))
        var maxUnused: Double = GCReport.defaultMaxUnused * 100

        func validate() throws {
            guard maxUnused.isFinite, maxUnused >= 0 else { throw ValidationError("--max-unused must be a percentage of 0 or more, not \(maxUnused)") }
        }

        func run() throws {
            let store = try global.openStore()
            let report = try store.collectGarbage(dryRun: dryRun, wait: !noWait, maxUnused: maxUnused / 100) {
                global.note("waiting for running captures to finish before deleting anything")
            }
            if global.json { Output.json(report); return }
            global.note("\(dryRun ? "would remove" : "removed") \(report.removedChunks) chunks (\(Output.bytes(report.removedBytes))) and \(report.removedPacks) pack files, \(dryRun ? "would free" : "freed") \(Output.bytes(report.punchedBytes)) inside packs; \(report.referencedChunks) chunks referenced by \(report.points) points")
            if report.compactedPacks > 0 {
                global.note("\(dryRun ? "would rewrite" : "rewrote") \(report.compactedPacks) packs (\(Output.bytes(report.compactedBytes)) of live chunks) to free space holes could not")
            }
            for damaged in report.damagedPacks { global.note(damaged + "; run `understudy verify --chunks`") }
            if !report.unknownPacks.isEmpty {
                global.note("kept \(report.unknownPacks.count) pack files this catalog has no record of (\(report.unknownPacks.prefix(5).map { "\($0).pack" }.joined(separator: ", "))\(report.unknownPacks.count > 5 ? ", ..." : "")): the catalog is older than the packs (put back from a backup?); their points are not in it")
            }
        }
    }
}
