import Foundation
import Testing
import TestSupport

extension RescueBootTests {
    @Suite("ISO") struct ISO {
        @Test func hasBIOSAndUEFIBootEntries() throws {
            let images = try BakedImages.get()
            let r = shell("xorriso -indev '\(images.iso)' -report_el_torito plain 2>&1")
            #expect(r.status == 0, "\(r.output)")
            #expect(r.output.contains("El Torito boot img :   1  BIOS  y   none"), "\(r.output)")
            #expect(r.output.contains("El Torito boot img :   2  UEFI  y   none"), "\(r.output)")
            #expect(r.output.contains("MBR isohybrid"), "not hybrid: \(r.output)")
            #expect(r.output.contains("/isolinux/isolinux.bin") && r.output.contains("/boot/efi.img"))
        }

        @Test func bootsAsCDAndRunsTheClientWithTheBakedSettings() throws {
            let images = try BakedImages.get()
            let boot = try RescueBoot.boot(["-cdrom", images.iso] + TargetDisk.virtio(in: images.dir) + GuestNetwork.nic(), in: images.dir)
            RescueBootTests.expectUnattended(boot)
            #expect(boot.log.contains("server=\(GuestNetwork.server) token=(set) machine=web1 point=7 target=/dev/vda done=poweroff from kernel command line: none"), "\(boot.log)")
            print("ISO (BIOS, CD) boot to poweroff: \(String(format: "%.1f", boot.seconds)) s")
        }

        @Test func bootsWhenWrittenToADisk() throws {
            let images = try BakedImages.get()
            // a copy, as dd to a USB stick would make it; snapshot=on keeps the guest from writing it
            let boot = try RescueBoot.boot(
                ["-drive", "file=\(images.iso),format=raw,if=ide,snapshot=on"] + TargetDisk.virtio(in: images.dir) + GuestNetwork.nic(), in: images.dir)
            RescueBootTests.expectUnattended(boot)
            print("ISO (BIOS, as disk) boot to poweroff: \(String(format: "%.1f", boot.seconds)) s")
        }

        @Test(.enabled(if: FileManager.default.fileExists(atPath: "/usr/share/OVMF/OVMF_CODE.fd"), "needs ovmf"))
        func bootsUnderUEFI() throws {
            let images = try BakedImages.get()
            let boot = try RescueBoot.boot(["-cdrom", images.iso] + TargetDisk.virtio(in: images.dir) + GuestNetwork.nic(), in: images.dir, firmware: "uefi")
            RescueBootTests.expectUnattended(boot)
            #expect(boot.log.contains("efi: EFI v"), "not booted through UEFI: \(boot.log.prefix(2000))")
            print("ISO (UEFI, CD) boot to poweroff: \(String(format: "%.1f", boot.seconds)) s")
        }

        @Test(.enabled(if: FileManager.default.fileExists(atPath: "/usr/share/OVMF/OVMF_CODE.fd"), "needs ovmf"))
        func bootsUnderUEFIWhenWrittenToADisk() throws {
            let images = try BakedImages.get()
            // on an NVMe drive this time
            let iso = ["-drive", "file=\(images.iso),format=raw,if=none,id=iso,snapshot=on", "-device", "nvme,serial=rescue,drive=iso"]
            let boot = try RescueBoot.boot(iso + TargetDisk.virtio(in: images.dir) + GuestNetwork.nic(), in: images.dir, firmware: "uefi")
            RescueBootTests.expectUnattended(boot)
            print("ISO (UEFI, as disk) boot to poweroff: \(String(format: "%.1f", boot.seconds)) s")
        }
    }
}
