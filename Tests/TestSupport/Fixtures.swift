public import Foundation

/// The bootable fixture disk of `Tests/Fixtures` and its qemu boot check.
public enum Fixtures {
    static let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Fixtures").path

    /// Builds a bootable BIOS/MBR disk whose guest prints `marker` on its serial console.
    /// `stay`: the guest keeps running after printing (as a server would) instead of powering off.
    public static func bootDisk(at path: String, marker: String, sizeMiB: Int = 64, stay: Bool = false) throws {
        let r = shell("\(stay ? "FIXTURE_KERNEL_ARGS=understudy.stay " : "")'\(folder)/make-boot-disk.sh' '\(path)' '\(marker)' \(sizeMiB)")
        guard r.status == 0 else { throw CLIError(message: "make-boot-disk.sh failed: \(r.output)") }
    }

    /// Boots `image` in qemu (TCG) and returns the marker its guest printed, or throws with the
    /// script's explanation (no bootable device, timeout, marker missing).
    public static func boot(_ image: String, format: String, diskInterface: String = "virtio") throws -> String {
        let r = shell("FIXTURE_DISK_IF=\(diskInterface) '\(folder)/boot-test.sh' '\(image)' \(QemuImg.driver(format))")
        guard r.status == 0 else { throw CLIError(message: "boot of \(image) failed: \(r.output)") }
        return r.output.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// True when qemu and the fixture tools are installed (scripts/install-deps.sh installs them).
    public static var available: Bool {
        shell("command -v qemu-system-x86_64 && command -v mkfs.vfat && command -v syslinux && ls /boot/vmlinuz-*").status == 0
    }
}
