import BlockStore
import Core

/// Where the TCP-port readiness probe connects.
public enum PortTarget: Sendable, Equatable, CustomStringConvertible {
    /// A fixed host (name or IP) and port: ready when a connection is accepted.
    case host(String, port: Int)
    /// The guest's own address as libvirt reports it (DHCP lease, then agent, then ARP).
    case guestAddress(port: Int)
    /// A user-mode forward on 127.0.0.1. qemu accepts there before the guest does (and holds the
    /// connection while its SYN to the guest goes unanswered), so a connection proves nothing:
    /// ready when qemu reports its side towards `guestPort` ESTABLISHED.
    case forward(hostPort: Int, guestPort: Int)

    /// The target for `profile`'s `.port` readiness, nil for other probes. `readyHost` wins on
    /// failover. With user-mode networking the guest's own address is unreachable from the host,
    /// so the probe goes through the forward of that port on 127.0.0.1 (also when `readyHost`
    /// names the loopback and the port is a forward's host port).
    ///
    /// `forVerify`: the disposable copy of `verify`. `readyHost` names production, not the copy;
    /// and on a libvirt network the copy sits on the isolated network, where the host has no
    /// address, while the copy may carry production's: connecting would reach production. So
    /// only a user-mode forward can reach the copy; anything else is refused.
    public static func resolve(_ profile: HardwareProfile, forVerify: Bool = false) throws -> PortTarget? {
        guard case .port(let port) = profile.readiness else { return nil }
        let user = profile.network == HardwareProfile.userNetwork
        if forVerify, !user {
            throw UnderstudyError(.unsupported, "verify cannot reach TCP port \(port) of its disposable copy: the host has no address on the copy's isolated network (or the copy has no NIC), and the copy's address may be production's; use --network user with --forward HOSTPORT:\(port), or --ready-agent / --ready-serial")
        }
        if !forVerify, let host = profile.readyHost {
            if user, isLoopback(host), let forward = profile.forwards.first(where: { $0.hostPort == port }) {
                return .forward(hostPort: forward.hostPort, guestPort: forward.guestPort)
            }
            return .host(host, port: port)
        }
        guard user else { return .guestAddress(port: port) }
        guard let forward = profile.forwards.first(where: { $0.guestPort == port }) else {
            throw UnderstudyError(.invalidArgument, "readiness by TCP port \(port) on user-mode networking needs --forward HOSTPORT:\(port)")
        }
        return .forward(hostPort: forward.hostPort, guestPort: forward.guestPort)
    }

    static func isLoopback(_ host: String) -> Bool {
        host == "localhost" || host.hasPrefix("127.")
    }

    public var description: String {
        switch self {
        case .host(let host, let port): host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)"
        case .guestAddress(let port): "the guest's address, port \(port)"
        case .forward(let hostPort, let guestPort): "127.0.0.1:\(hostPort) (forwarded to guest port \(guestPort))"
        }
    }
}

extension PortTarget {
    /// The endpoint for messages: HOST:PORT as tried (the guest's address once known).
    func endpointDescription(host: String, port: Int) -> String {
        if case .forward = self { return description }
        return PortTarget.host(host, port: port).description
    }
}
