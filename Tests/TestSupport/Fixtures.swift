public import Foundation

/// The bootable fixture disk of `Tests/Fixtures` and its qemu boot check.
public enum Fixtures {
    static let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Fixtures").path

    /// Builds a bootable BIOS/MBR disk whose guest prints `marker` on its serial console.
    /// `stay`: the guest keeps running after printing (as a server would) instead of powering off.
    /// `firmware`: "bios" (MBR + syslinux) or "uefi" (GPT + an EFI System Partition with a unified kernel image).
    public static func bootDisk(at path: String, marker: String, sizeMiB: Int = 64, stay: Bool = false, firmware: String = "bios") throws {
        let r = shell("FIXTURE_FIRMWARE=\(firmware) \(stay ? "FIXTURE_KERNEL_ARGS=understudy.stay " : "")'\(folder)/make-boot-disk.sh' '\(path)' '\(marker)' \(sizeMiB)")
        guard r.status == 0 else { throw CLIError(message: "make-boot-disk.sh failed: \(r.output)") }
    }

    /// Boots `image` in qemu (TCG) and returns the marker its guest printed, or throws with the
    /// script's explanation (no bootable device, timeout, marker missing).
    public static func boot(_ image: String, format: String, diskInterface: String = "virtio", firmware: String = "bios") throws -> String {
        let r = shell("FIXTURE_FIRMWARE=\(firmware) FIXTURE_DISK_IF=\(diskInterface) '\(folder)/boot-test.sh' '\(image)' \(QemuImg.driver(format))")
        guard r.status == 0 else { throw CLIError(message: "boot of \(image) failed: \(r.output)") }
        return r.output.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// True when qemu and the fixture tools are installed (scripts/install-deps.sh installs them).
    /// True when a UEFI fixture can be built and booted (OVMF and the systemd EFI stub installed).
    public static var uefiAvailable: Bool {
        available && shell("command -v objcopy && ls /usr/lib/systemd/boot/efi/linuxx64.efi.stub /usr/share/OVMF/OVMF_CODE.fd /usr/share/OVMF/OVMF_VARS.fd").status == 0
    }

    public static var available: Bool {
        shell("command -v qemu-system-x86_64 && command -v mkfs.vfat && command -v syslinux && ls /boot/vmlinuz-*").status == 0
    }
}
