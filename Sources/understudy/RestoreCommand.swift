import ArgumentParser
import BlockStore
import DiskImage

extension Understudy {
    struct Restore: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write a recovery point as a raw disk to a file (sparse) or a block device.")
        @OptionGroup var global: GlobalOptions
        @Argument var machine: String
        @Argument(help: "A file (written aside, renamed into place when complete) or a block device.") var target: String
        @Option(help: ArgumentHelp("latest, a point id, or @TIME (newest point at or before it).", valueName: "point"))
        var point = "latest"
        @Flag(help: "Replace an existing file, or overwrite a device that already holds data.") var force = false
        @Flag(help: "Fill blocks whose chunk is corrupt or missing with zeros and list them, instead of stopping.")
        var ignoreErrors = false

        func run() throws {
            let selector = try PointSelector(parsing: point)
            let store = try global.openStore()
            _ = try store.machine(machine)
            let chosen = try selector.select(from: store.catalog.points(of: machine), machine: machine)
            var options = RawRestore.Options()
            options.force = force
            options.ignoreErrors = ignoreErrors
            let report = try RawRestore.restore(store: store, point: chosen, to: target, options: options, progress: global.progress())
            if global.json {
                Output.json(report)
            } else {
                global.note("restored point \(report.point) of \(machine) to \(target): \(Output.bytes(report.diskSize)), \(report.dataBlocks) data blocks, \(report.zeroBlocks) zero blocks, \(String(format: "%.1f", report.seconds)) s")
            }
            if !report.badBlocks.isEmpty {
                for bad in report.badBlocks { Output.error("zero-filled " + bad.error) }
                Output.error("\(report.badBlocks.count) blocks could not be restored and were filled with zeros")
                throw ExitCode(1)
            }
        }
    }
}
