import BlockStore

/// The virtual hardware a machine's standby runs on: set with `understudy machine set`, kept in
/// the catalog, rendered into the libvirt domain.
public struct HardwareProfile: Codable, Sendable, Equatable {
    public enum Firmware: String, Codable, Sendable, CaseIterable { case bios, uefi }
    public enum DiskBus: String, Codable, Sendable, CaseIterable { case virtio, sata, ide, scsi }
    public enum Accel: String, Codable, Sendable, CaseIterable { case auto, kvm, tcg }

    /// How failover and verify know the guest is up.
    public enum Readiness: Codable, Sendable, Equatable, CustomStringConvertible {
        /// A serial-console line matching this regular expression.
        case serial(String)
        /// A TCP port answering on the guest.
        case port(Int)
        /// qemu-guest-agent answering a ping.
        case agent

        public var description: String {
            switch self {
            case .serial(let regex): "serial line matching /\(regex)/"
            case .port(let port): "TCP port \(port)"
            case .agent: "guest agent ping"
            }
        }
    }

    public static let nicModels = ["virtio", "e1000", "e1000e", "rtl8139"]

    public var cpus = 2
    public var memoryMiB = 2048
    public var firmware = Firmware.bios
    public var diskBus = DiskBus.virtio
    public var nicModel = "virtio"
    /// The production NIC's MAC, so DHCP reservations and licences follow the failover.
    public var mac: String?
    /// The libvirt network the NIC joins; nil: no NIC.
    public var network: String?
    /// Standby image format.
    public var format = "qcow2"
    /// Domain name; nil: the machine's name.
    public var domain: String?
    public var readiness = Readiness.serial("login:")
    public var accel = Accel.auto

    public init() {}

    /// Checks values a user can set.
    public func validate() throws {
        guard (1...512).contains(cpus) else { throw StoreError(.invalidArgument, "--cpus must be from 1 to 512") }
        guard (32...(16 << 20)).contains(memoryMiB) else { throw StoreError(.invalidArgument, "--memory must be from 32 MiB to 16 TiB (in MiB)") }
        guard Self.nicModels.contains(nicModel) else {
            throw StoreError(.invalidArgument, "--nic-model must be one of \(Self.nicModels.joined(separator: ", "))")
        }
        if let mac {
            let parts = mac.split(separator: ":")
            guard parts.count == 6, parts.allSatisfy({ $0.count == 2 && UInt8($0, radix: 16) != nil }) else {
                throw StoreError(.invalidArgument, "--mac '\(mac)' is not a MAC address like 52:54:00:12:34:56")
            }
        }
        if case .port(let port) = readiness, !(1...65535).contains(port) {
            throw StoreError(.invalidArgument, "--ready-port must be from 1 to 65535")
        }
        if case .serial(let regex) = readiness, (try? Regex(regex)) == nil {
            throw StoreError(.invalidArgument, "--ready-serial '\(regex)' is not a valid regular expression")
        }
        if let domain { try Machine.validate(name: domain) }
    }
}
