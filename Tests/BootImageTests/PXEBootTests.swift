import Foundation
import Testing
import TestSupport

extension RescueBootTests {
    @Suite("PXE and kernel command line") struct PXE {
        @Test func treeHoldsWhatATFTPServerServes() throws {
            let images = try BakedImages.get()
            for name in ["pxelinux.0", "ldlinux.c32", "pxelinux.cfg/default", "vmlinuz", "initrd.img"] {
                #expect(FileManager.default.fileExists(atPath: images.pxe + "/" + name), "\(name) missing")
            }
            let cfg = try String(contentsOfFile: images.pxe + "/pxelinux.cfg/default", encoding: .utf8)
            #expect(cfg.contains("SERIAL 0 115200") && cfg.contains("console=tty0 console=ttyS0,115200"), "\(cfg)")
        }

        @Test func bootsOverTFTP() throws {
            let images = try BakedImages.get()
            let boot = try RescueBoot.boot(
                ["-boot", "n"] + TargetDisk.virtio(in: images.dir) + GuestNetwork.nic(extra: ",tftp=\(images.pxe),bootfile=pxelinux.0"),
                in: images.dir)
            RescueBootTests.expectUnattended(boot)
            #expect(boot.log.contains("PXELINUX"), "not booted by pxelinux: \(boot.log.prefix(2000))")
            print("PXE (TFTP) boot to poweroff: \(String(format: "%.1f", boot.seconds)) s")
        }

        @Test func kernelCommandLineOverridesTheBakedSettings() throws {
            let images = try BakedImages.get()
            let append = "console=tty0 console=ttyS0,115200 understudy.machine=exit3 understudy.point=latest "
                + "understudy.target=/dev/sda understudy.token=other understudy.done=poweroff"
            let boot = try RescueBoot.boot(
                ["-kernel", images.pxe + "/vmlinuz", "-initrd", images.pxe + "/initrd.img", "-append", append]
                    + TargetDisk.sata(in: images.dir) + GuestNetwork.nic(),
                in: images.dir)
            RescueBootTests.expectUnattended(boot, result: "UNDERSTUDY-RESCUE: FAILED (exit 3)", arguments: [
                "--server", GuestNetwork.server, "--machine", "exit3", "--point", "latest", "--target", "/dev/sda", "--yes",
            ], token: "other")
            #expect(boot.log.contains("from kernel command line: machine point target token done"), "\(boot.log)")
        }

        @Test func aFailureLeavesAShellOnTheConsoleByDefault() throws {
            let images = try BakedImages.get()
            // an empty understudy.done clears the baked poweroff: the default after a failure is a shell
            let append = "console=tty0 console=ttyS0,115200 understudy.machine=exit5 understudy.done="
            let boot = try RescueBoot.boot(
                ["-kernel", images.pxe + "/vmlinuz", "-initrd", images.pxe + "/initrd.img", "-append", append]
                    + TargetDisk.virtio(in: images.dir) + GuestNetwork.nic(),
                in: images.dir, typeEnter: true, keys: "echo typed-$((6*7))", until: "^typed-42")
            #expect(boot.result == "UNDERSTUDY-RESCUE: FAILED (exit 5)", "\(boot.log)")
            #expect(boot.log.contains("understudy: shell on every console"), "\(boot.log)")
            #expect(boot.log.contains("rescue# "), "no shell prompt: \(boot.log)")
            #expect(!boot.log.contains("powering off"))
        }

        @Test func withoutMachineTheClientRunsInteractivelyOnTheConsole() throws {
            let images = try BakedImages.get()
            // an empty value clears the baked one; Enter on the serial console claims it
            let append = "console=tty0 console=ttyS0,115200 understudy.machine= understudy.target="
            let boot = try RescueBoot.boot(
                ["-kernel", images.pxe + "/vmlinuz", "-initrd", images.pxe + "/initrd.img", "-append", append] + GuestNetwork.nic(),
                in: images.dir, typeEnter: true)
            #expect(boot.result == "UNDERSTUDY-RESCUE: OK", "\(boot.log)")
            #expect(boot.log.contains("understudy: interactive: press Enter"), "\(boot.log)")
            #expect(FakeRescue.arguments(in: boot.log) == ["--server", GuestNetwork.server, "--point", BakedImages.point])
            #expect(boot.log.contains("FAKE-RESCUE env UNDERSTUDY_TOKEN=\(BakedImages.token)"), "\(boot.log)")
            #expect(boot.log.contains("FAKE-RESCUE argc=5 stdin-tty=1"), "the interactive client needs the terminal: \(boot.log)")
        }
    }
}
