import ArgumentParser
import BlockStore
import BootImage
import Foundation
import Core

extension Understudy {
    struct BootImageCommand: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "bootimage",
            abstract: "Build the rescue ISO (BIOS + UEFI, CD or USB stick) and/or PXE tree that restore bare metal.",
            discussion: """
                Settings given here are baked into the image; at boot the kernel command line overrides them \
                (understudy.server= .token= .machine= .point= .target= .done=). Without a machine and a target the \
                rescue client runs interactively on the console. See bootimage/README.md.
                """)
        @OptionGroup var global: GlobalOptions
        @Option(help: ArgumentHelp("Write a hybrid ISO here.", valueName: "file")) var iso: String?
        @Option(help: ArgumentHelp("Write a PXE/TFTP tree into this folder (replaced if it exists).", valueName: "dir")) var pxe: String?
        @Option(help: "The Understudy server the client contacts (http:// or https:// URL).") var server: String?
        @Option(help: "Access token (baked into the image in plain text).") var token: String?
        @Option(help: "Machine to restore (unattended when a target is set too).") var machine: String?
        @Option(help: "Point to restore: an id or latest.") var point: String?
        @Option(help: "Disk to overwrite, e.g. /dev/sda.") var target: String?
        @Option(help: "After the restore: poweroff, reboot or shell (default: poweroff on success, shell on failure).") var done: String?
        @Option(help: ArgumentHelp("Kernel to boot (default: the running one if in /boot, else the newest /boot/vmlinuz-*).", valueName: "path")) var kernel: String?
        @Option(help: ArgumentHelp("The understudy-rescue binary (default: next to understudy).", valueName: "path")) var rescueBinary: String?

        var options: BootImageBuilder.Options {
            var o = BootImageBuilder.Options()
            o.iso = iso; o.pxe = pxe; o.server = server; o.token = token; o.machine = machine; o.point = point
            o.target = target; o.done = done; o.kernel = kernel; o.rescueBinary = rescueBinary
            return o
        }

        func validate() throws {
            do { try BootImageBuilder.validate(options) } catch let error as UnderstudyError { throw ValidationError(error.message) }
        }

        func run() throws {
            let start = Date()
            let lines = try BootImageBuilder().build(options)
            if global.json {
                Output.json(["iso": iso, "pxe": pxe])
                return
            }
            for line in lines { print(line) }
            global.note(String(format: "built in %.1f s", Date().timeIntervalSince(start)))
        }
    }
}
