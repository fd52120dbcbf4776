internal import CLibvirt
#if canImport(Glibc)
internal import Glibc
#endif

/// Questions libvirt answers about a running guest: its clock (from qemu-guest-agent) and its
/// network addresses (from DHCP leases, the agent or the host's ARP table).
extension Domain {
    /// The guest's clock as qemu-guest-agent reports it (`guest-get-time`). Fails with
    /// `.agentUnresponsive` while no agent listens on the `org.qemu.guest_agent.0` channel (libvirt
    /// answers that at once when the guest has not opened the port) or when it does not answer in
    /// libvirt's agent timeout. A clean core API: unlike arbitrary agent commands it does not mark
    /// the domain tainted. The corresponding C function is `virDomainGetTime`.
    public func guestTime() throws(LibvirtError) -> (seconds: Int64, nanoseconds: UInt32) {
        var seconds: Int64 = 0
        var nanoseconds: UInt32 = 0
        try check(virDomainGetTime(pointer, &seconds, &nanoseconds, 0), "virDomainGetTime", site)
        return (seconds, nanoseconds)
    }

    /// The guest's interfaces and their addresses as `source` knows them; an empty list when it
    /// knows none. The corresponding C function is `virDomainInterfaceAddresses`.
    public func interfaceAddresses(from source: AddressSource) throws(LibvirtError) -> [GuestInterface] {
        var list: UnsafeMutablePointer<virDomainInterfacePtr?>?
        let count = try check(virDomainInterfaceAddresses(pointer, &list, UInt32(source.rawValue), 0), "virDomainInterfaceAddresses", site)
        guard let list else { return [] }
        defer {
            for i in 0..<Int(count) { virDomainInterfaceFree(list[i]) }
            free(list)
        }
        return (0..<Int(count)).compactMap { i in
            guard let iface = list[i]?.pointee else { return nil }
            let addresses = (0..<Int(iface.naddrs)).compactMap { j -> GuestInterface.Address? in
                let a = iface.addrs[j]
                guard let text = a.addr.map({ String(cString: $0) }) else { return nil }
                return GuestInterface.Address(address: text, prefix: Int(a.prefix),
                                              isIPv6: a.type == Int32(VIR_IP_ADDR_TYPE_IPV6.rawValue))
            }
            return GuestInterface(name: iface.name.map { String(cString: $0) } ?? "",
                                  mac: iface.hwaddr.map { String(cString: $0) }, addresses: addresses)
        }
    }
}

/// Where libvirt looks up a guest's addresses (`virDomainInterfaceAddressesSource`).
public struct AddressSource: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: Int32
    public init(rawValue: Int32) { self.rawValue = rawValue }

    /// The DHCP leases of the libvirt network the interface joins (dnsmasq).
    public static let lease = AddressSource(rawValue: Int32(VIR_DOMAIN_INTERFACE_ADDRESSES_SRC_LEASE.rawValue))
    /// qemu-guest-agent's `guest-network-get-interfaces`.
    public static let agent = AddressSource(rawValue: Int32(VIR_DOMAIN_INTERFACE_ADDRESSES_SRC_AGENT.rawValue))
    /// The host's ARP table, matched by the interface's MAC.
    public static let arp = AddressSource(rawValue: Int32(VIR_DOMAIN_INTERFACE_ADDRESSES_SRC_ARP.rawValue))

    public var description: String {
        switch self {
        case .lease: "DHCP lease"
        case .agent: "guest agent"
        case .arp: "ARP table"
        default: "source \(rawValue)"
        }
    }
}

/// One guest network interface and its addresses (`virDomainInterface`).
public struct GuestInterface: Sendable, Equatable {
    public struct Address: Sendable, Equatable {
        public var address: String
        public var prefix: Int
        public var isIPv6: Bool
    }

    /// The guest's name for it (agent), or the host-side device (lease, ARP).
    public var name: String
    public var mac: String?
    public var addresses: [Address]
}
