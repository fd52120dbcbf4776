import Foundation

/// The bootable fixture disk of `Tests/Fixtures` and its qemu boot check.
public enum Fixtures {
    static let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Fixtures").path

    /// Builds a bootable BIOS/MBR disk whose guest prints `marker` on its serial console.
    /// `stay`: the guest keeps running after printing (as a server would) instead of powering off.
    /// `firmware`: "bios" (MBR + syslinux) or "uefi" (GPT + an EFI System Partition with a unified kernel image).
    /// `agent`: the guest runs Debian's qemu-guest-agent on the org.qemu.guest_agent.0 port.
    /// `listen`: the guest brings up its NIC by DHCP and serves HTTP on `port` only `delay` seconds later.
    public static func bootDisk(at path: String, marker: String, sizeMiB: Int = 64, stay: Bool = false, firmware: String = "bios",
                                agent: Bool = false, listen: (port: Int, delay: Int)? = nil) throws {
        let args = (stay ? ["understudy.stay"] : []) + (listen.map { ["understudy.listen=\($0.port):\($0.delay)"] } ?? [])
        let r = shell("FIXTURE_FIRMWARE=\(firmware) FIXTURE_AGENT=\(agent ? 1 : 0) FIXTURE_KERNEL_ARGS='\(args.joined(separator: " "))' '\(folder)/make-boot-disk.sh' '\(path)' '\(marker)' \(sizeMiB)")
        guard r.status == 0 else { throw CLIError(message: "make-boot-disk.sh failed: \(r.output)") }
    }

    /// Boots `image` in qemu (TCG) and returns the marker its guest printed, or throws with the
    /// script's explanation (no bootable device, timeout, marker missing).
    public static func boot(_ image: String, format: String, diskInterface: String = "virtio", firmware: String = "bios") throws -> String {
        let r = shell("FIXTURE_FIRMWARE=\(firmware) FIXTURE_DISK_IF=\(diskInterface) '\(folder)/boot-test.sh' '\(image)' \(QemuImg.driver(format))")
        guard r.status == 0 else { throw CLIError(message: "boot of \(image) failed: \(r.output)") }
        return r.output.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// True when a guest-agent fixture can be built (Debian's qemu-guest-agent installed).
    public static var agentAvailable: Bool { available && FileManager.default.isExecutableFile(atPath: "/usr/sbin/qemu-ga") }

    /// True when a UEFI fixture can be built and booted (OVMF and the systemd EFI stub installed).
    public static var uefiAvailable: Bool {
        available && shell("command -v objcopy && ls /usr/lib/systemd/boot/efi/linuxx64.efi.stub /usr/share/OVMF/OVMF_CODE.fd /usr/share/OVMF/OVMF_VARS.fd").status == 0
    }

    /// True when qemu and the fixture tools are installed (scripts/install-deps.sh installs them).
    public static var available: Bool {
        shell("command -v qemu-system-x86_64 && command -v mkfs.vfat && command -v syslinux && ls /boot/vmlinuz-*").status == 0
    }
}
