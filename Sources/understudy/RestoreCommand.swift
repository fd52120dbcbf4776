import ArgumentParser
import BlockStore
import DiskImage
import Foundation
import Standby

extension Understudy {
    struct Restore: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write a recovery point as a disk image (raw, qcow2, vmdk, vhd, vhdx) or to a block device.",
            discussion: """
                A new image is written aside and renamed into place when complete. Restoring again to an image \
                Understudy built (or with --update) brings it to the new point in place, rewriting only the \
                blocks that changed, under an undo journal.
                """)
        @OptionGroup var global: GlobalOptions
        @Argument var machine: String
        @Argument(help: "An image file, or a block device (raw only). Not with --to-vm.") var target: String?
        @Option(help: ArgumentHelp("latest, a point id, or @TIME (newest point at or before it).", valueName: "point"))
        var point = "latest"
        @Option(help: ArgumentHelp("Image format: raw, qcow2, vmdk, vhd (vpc), vhdx.", valueName: "format"))
        var format: String?
        @Option(help: ArgumentHelp("Format variant: vhd dynamic|fixed, vmdk monolithicSparse|streamOptimized.", valueName: "variant"))
        var subformat: String?
        @Flag(help: "qcow2: zstd-compressed clusters (the stored frames, passed through).") var compress = false
        @Flag(help: "vmdk streamOptimized: package as an OVA (OVF descriptor, manifest, disk).") var ova = false
        @Flag(help: "Update the existing image at TARGET in place to the point (the default when TARGET is an image Understudy built).")
        var update = false
        @Flag(help: "Rebuild TARGET from scratch even if it could be updated.") var forceFull = false
        @Flag(help: "Update in place without first reading back the blocks the update keeps (by default they are checked against the point TARGET holds, and a changed or decayed image is refused).")
        var trustImage = false
        @Flag(help: "Replace an existing file, or overwrite a device that already holds data.") var force = false
        @Flag(help: "Fill blocks whose chunk is corrupt or missing with zeros and list them, instead of stopping.")
        var ignoreErrors = false
        @Option(name: .customLong("to-vm"), help: ArgumentHelp("Create a new libvirt VM from the point instead (P2V): a qcow2 disk and a domain with the machine's hardware profile.", valueName: "name"))
        var toVM: String?
        @Option(name: .customLong("vm-image"), help: ArgumentHelp("With --to-vm: where the VM's disk goes (default /var/lib/libvirt/images/NAME.qcow2).", valueName: "path"))
        var vmImage: String?
        @Option(help: ArgumentHelp("With --to-vm: the libvirt URI.", valueName: "uri")) var connect = "qemu:///system"
        @Flag(help: "With --to-vm: start the VM once defined.") var start = false

        func validate() throws {
            if toVM == nil && target == nil { throw ValidationError("give a TARGET file or device, or --to-vm NAME") }
            if toVM != nil && target != nil { throw ValidationError("give either a TARGET or --to-vm NAME, not both") }
            if toVM == nil && (vmImage != nil || start) { throw ValidationError("--vm-image and --start go with --to-vm") }
        }

        func run() throws {
            let selector = try PointSelector(parsing: point)
            let store = try global.openStore()
            if let toVM { return try restoreToVM(store: store, name: toVM, selector: selector) }
            let target = self.target ?? ""
            _ = try store.machine(machine)
            let chosen = try selector.select(from: store.catalog.points(of: machine), machine: machine)
            let existing = ImageRecord.load(for: target)
            var options = ImageBuilder.Options()
            options.format = try FormatRegistry.format(named: format ?? existing?.format ?? "raw")
            options.variant = subformat
            options.compress = compress
            options.ova = ova
            options.force = force
            options.ignoreErrors = ignoreErrors
            options.trustImage = trustImage
            let report: RestoreReport
            if (update || existing != nil || forceFull) && FileManager.default.fileExists(atPath: target) && !force {
                report = try ImageUpdater.update(store: store, point: chosen, at: target, options: options, forceFull: forceFull,
                                                 progress: global.progress())
            } else {
                report = try ImageBuilder.build(store: store, point: chosen, to: target, options: options, progress: global.progress())
            }
            if global.json {
                Output.json(report)
            } else {
                let what = switch report.mode {
                case .full: "restored point \(report.point) of \(machine) to \(target) (\(report.format) \(report.variant))"
                case .update: "updated \(target) from point \(report.fromPoint ?? 0) to \(report.point): \(report.changedBlocks) blocks changed"
                case .unchanged: "\(target) already holds point \(report.point)"
                }
                global.note("\(what): \(Output.bytes(report.diskSize)) disk, \(Output.bytes(report.bytesWritten)) written, \(String(format: "%.1f", report.seconds)) s" + (report.note.map { " (full rebuild: \($0))" } ?? ""))
            }
            if !report.badBlocks.isEmpty {
                for bad in report.badBlocks { Output.error("zero-filled " + bad.error) }
                Output.error("\(report.badBlocks.count) blocks could not be restored and were filled with zeros")
                throw ExitCode(1)
            }
        }

        func restoreToVM(store: Store, name: String, selector: PointSelector) throws {
            var options = VMRestore.Options()
            options.point = selector
            options.connect = connect
            options.image = vmImage
            options.start = start
            let report = try VMRestore.run(store: store, machine: machine, name: name, options: options, progress: global.progress())
            if global.json { Output.json(report); return }
            if let fallback = report.fallback { global.note(fallback) }
            global.note("created VM \(name) at \(connect) from point \(report.point) of \(machine): disk \(report.image), serial console \(report.serialLog) (\(report.accelerator))" + (start ? "; started" : "; start it with `virsh start \(name)`"))
        }
    }
}
