import Foundation
import Testing
import TestSupport

/// A UEFI server (GPT + EFI System Partition with a unified kernel image) as a standby booting
/// through OVMF under libvirt (TCG): failover, then a verify boot of a disposable copy.
@Suite("Standby: UEFI (OVMF) with real libvirt", .serialized,
       .enabled(if: Fixtures.uefiAvailable && Libvirtd.available, "needs qemu, OVMF, systemd-boot-efi, the fixture tools and a running libvirtd (scripts/install-deps.sh)"))
struct StandbyUEFITests {
    @Test func uefiStandbyFailsOverAndVerifies() throws {
        let h = try StandbyHarness("uefi", marker: "uefi-A", stay: true, firmware: "uefi", memoryMiB: 512)
        let (cli, machine) = (h.cli, h.machine)
        defer { h.removeDomain() }

        let shown = try cli.run(["machine", "show", machine])
        #expect(shown.stdout.contains("firmware: uefi"), "\(shown.output)")

        let build = try cli.run(["standby", "build", machine])
        try #require(build.status == 0, "\(build.output)")
        let xml = shell("virsh -c qemu:///system dumpxml \(machine)").output
        #expect(xml.contains("OVMF_CODE.fd") && xml.contains("<nvram"), "domain is not UEFI: \(xml)")

        // OVMF under TCG takes tens of seconds before the kernel starts.
        let failover = try cli.run(["failover", machine, "--timeout", "240"])
        #expect(failover.status == 0, "\(failover.output)\n--- console ---\n\(h.console())")
        #expect(h.console().contains("UNDERSTUDY-MARKER: uefi-A"), "console: \(h.console())")
        shell("virsh -c qemu:///system destroy \(machine)")

        let verify = try cli.run(["verify", machine, "--timeout", "240", "--json"])
        #expect(verify.status == 0, "\(verify.output)")
        #expect(!shell("virsh -c qemu:///system list --all --name").output.contains("\(machine)-verify"))
    }
}
