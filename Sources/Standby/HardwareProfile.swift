import BlockStore
import Core

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
        /// qemu-guest-agent answering (libvirt asks it for the guest's time).
        case agent

        public var description: String {
            switch self {
            case .serial(let regex): "serial line matching /\(regex)/"
            case .port(let port): "TCP port \(port)"
            case .agent: "qemu-guest-agent answers"
            }
        }
    }

    /// A TCP port of the host's loopback forwarded to a guest port (user-mode networking only).
    public struct PortForward: Codable, Sendable, Equatable, CustomStringConvertible {
        public var hostPort: Int
        public var guestPort: Int

        public init(hostPort: Int, guestPort: Int) { self.hostPort = hostPort; self.guestPort = guestPort }

        /// "HOSTPORT:GUESTPORT", or "PORT" for the same number on both sides.
        public init?(_ text: String) {
            let parts = text.split(separator: ":", omittingEmptySubsequences: false).map { Int($0) }
            guard (1...2).contains(parts.count), let host = parts[0], let guest = parts.last ?? nil else { return nil }
            self.init(hostPort: host, guestPort: guest)
        }

        public var description: String { "127.0.0.1:\(hostPort) → guest port \(guestPort)" }
    }

    public static let nicModels = ["virtio", "e1000", "e1000e", "rtl8139"]
    /// The `network` value that means qemu's own user-mode network (no libvirt network): the guest
    /// reaches nothing outside it, and the host reaches the guest only through `forwards`.
    public static let userNetwork = "user"

    public var cpus = 2
    public var memoryMiB = 2048
    public var firmware = Firmware.bios
    public var diskBus = DiskBus.virtio
    public var nicModel = "virtio"
    /// The production NIC's MAC, so DHCP reservations and licences follow the failover.
    public var mac: String?
    /// The libvirt network the NIC joins, `userNetwork` for user-mode networking; nil: no NIC.
    public var network: String?
    /// With user-mode networking: host loopback ports forwarded to guest ports.
    public var forwards: [PortForward] = []
    /// Standby image format.
    public var format = "qcow2"
    /// Domain name; nil: the machine's name.
    public var domain: String?
    public var readiness = Readiness.serial("login:")
    /// Where the `.port` probe connects on failover (a production server's own name or IP); nil:
    /// the guest's address as libvirt knows it (or the forward, with user-mode networking).
    public var readyHost: String?
    public var accel = Accel.auto

    public init() {}

    /// Checks values a user can set.
    public func validate() throws {
        guard (1...512).contains(cpus) else { throw UnderstudyError(.invalidArgument, "--cpus must be from 1 to 512") }
        guard (32...(16 << 20)).contains(memoryMiB) else { throw UnderstudyError(.invalidArgument, "--memory must be from 32 MiB to 16 TiB (in MiB)") }
        guard Self.nicModels.contains(nicModel) else {
            throw UnderstudyError(.invalidArgument, "--nic-model must be one of \(Self.nicModels.joined(separator: ", "))")
        }
        if let mac {
            let parts = mac.split(separator: ":")
            guard parts.count == 6, parts.allSatisfy({ $0.count == 2 && UInt8($0, radix: 16) != nil }) else {
                throw UnderstudyError(.invalidArgument, "--mac '\(mac)' is not a MAC address like 52:54:00:12:34:56")
            }
        }
        if case .port(let port) = readiness, !(1...65535).contains(port) {
            throw UnderstudyError(.invalidArgument, "--ready-port must be from 1 to 65535")
        }
        for forward in forwards where !(1...65535).contains(forward.hostPort) || !(1...65535).contains(forward.guestPort) {
            throw UnderstudyError(.invalidArgument, "--forward \(forward.hostPort):\(forward.guestPort): ports must be from 1 to 65535")
        }
        if !forwards.isEmpty, network != Self.userNetwork {
            throw UnderstudyError(.invalidArgument, "--forward needs --network \(Self.userNetwork) (a libvirt network reaches the guest's own address)")
        }
        if Set(forwards.map(\.hostPort)).count != forwards.count {
            throw UnderstudyError(.invalidArgument, "--forward: a host port can be forwarded only once")
        }
        if case .port(let port) = readiness, readyHost == nil, network == Self.userNetwork,
           !forwards.contains(where: { $0.guestPort == port }) {
            throw UnderstudyError(.invalidArgument, "--ready-port \(port) with --network \(Self.userNetwork): add --forward HOSTPORT:\(port) or give --ready-host")
        }
        if let readyHost, readyHost.isEmpty || readyHost.contains(where: { $0.isWhitespace || $0 == "/" }) {
            throw UnderstudyError(.invalidArgument, "--ready-host '\(readyHost)' is not a host name or IP address")
        }
        if case .serial(let regex) = readiness, (try? Regex(regex)) == nil {
            throw UnderstudyError(.invalidArgument, "--ready-serial '\(regex)' is not a valid regular expression")
        }
        if let domain { try Machine.validate(name: domain) }
    }
}

extension HardwareProfile {
    /// Profiles saved before a field existed lack its key: every field falls back to its default.
    public init(from decoder: any Decoder) throws {
        self.init()
        let c = try decoder.container(keyedBy: CodingKeys.self)
        cpus = try c.decodeIfPresent(Int.self, forKey: .cpus) ?? cpus
        memoryMiB = try c.decodeIfPresent(Int.self, forKey: .memoryMiB) ?? memoryMiB
        firmware = try c.decodeIfPresent(Firmware.self, forKey: .firmware) ?? firmware
        diskBus = try c.decodeIfPresent(DiskBus.self, forKey: .diskBus) ?? diskBus
        nicModel = try c.decodeIfPresent(String.self, forKey: .nicModel) ?? nicModel
        mac = try c.decodeIfPresent(String.self, forKey: .mac)
        network = try c.decodeIfPresent(String.self, forKey: .network)
        forwards = try c.decodeIfPresent([PortForward].self, forKey: .forwards) ?? forwards
        format = try c.decodeIfPresent(String.self, forKey: .format) ?? format
        domain = try c.decodeIfPresent(String.self, forKey: .domain)
        readiness = try c.decodeIfPresent(Readiness.self, forKey: .readiness) ?? readiness
        readyHost = try c.decodeIfPresent(String.self, forKey: .readyHost)
        accel = try c.decodeIfPresent(Accel.self, forKey: .accel) ?? accel
    }
}
