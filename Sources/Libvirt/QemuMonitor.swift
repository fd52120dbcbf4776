internal import CLibvirt
#if canImport(Glibc)
internal import Glibc
#endif

extension Domain {
    /// Runs a human-monitor (HMP) command in the domain's qemu and returns its output, for what no
    /// libvirt API tells (such as `info usernet`: the TCP states of qemu's user-mode network).
    /// libvirt marks the domain tainted (`custom-monitor`) in its log; use it sparingly.
    /// The corresponding C function is `virDomainQemuMonitorCommand` with
    /// `VIR_DOMAIN_QEMU_MONITOR_COMMAND_HMP`.
    public func humanMonitorCommand(_ command: String) throws(LibvirtError) -> String {
        var result: UnsafeMutablePointer<CChar>?
        try check(virDomainQemuMonitorCommand(pointer, command, &result, UInt32(VIR_DOMAIN_QEMU_MONITOR_COMMAND_HMP.rawValue)),
                  "virDomainQemuMonitorCommand", site)
        guard let result else { return "" }
        return consumeString(result)
    }
}
