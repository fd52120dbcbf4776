import BlockStore
import Foundation
import Libvirt
#if canImport(Glibc)
import Glibc
#endif

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
    /// failover; `verify` ignores it (it names production, not the disposable copy). With
    /// user-mode networking the guest's own address is unreachable from the host, so the probe
    /// goes through the forward of that port on 127.0.0.1 (also when `readyHost` names the
    /// loopback and the port is a forward's host port).
    public static func resolve(_ profile: HardwareProfile, useReadyHost: Bool = true) throws -> PortTarget? {
        guard case .port(let port) = profile.readiness else { return nil }
        let user = profile.network == HardwareProfile.userNetwork
        if useReadyHost, let host = profile.readyHost {
            if user, isLoopback(host), let forward = profile.forwards.first(where: { $0.hostPort == port }) {
                return .forward(hostPort: forward.hostPort, guestPort: forward.guestPort)
            }
            return .host(host, port: port)
        }
        guard user else { return .guestAddress(port: port) }
        guard let forward = profile.forwards.first(where: { $0.guestPort == port }) else {
            throw StoreError(.invalidArgument, "readiness by TCP port \(port) on user-mode networking needs --forward HOSTPORT:\(port)")
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

/// Polls a TCP port until a connection is accepted.
struct PortProbe {
    var target: PortTarget
    var domain: Domain?

    func wait(_ probe: ReadinessProbe, isRunning: () -> Bool) throws -> Double {
        var last: String?
        var lastEndpoint: String?
        while !probe.timedOut {
            if let found = endpoint() {
                let (host, port) = found
                let endpoint = target.endpointDescription(host: host, port: port)
                let remaining = probe.timeout - probe.elapsed
                let outcome = if case .forward(_, let guestPort) = target {
                    UserForward.attempt(hostPort: port, guestPort: guestPort, domain: domain, timeout: min(2, max(0.05, remaining)))
                } else {
                    TCPConnect.attempt(host: host, port: port, timeout: min(2, max(0.05, remaining)))
                }
                switch outcome {
                case .success: return probe.elapsed
                case .failure(let why): (last, lastEndpoint) = (why, endpoint)
                }
            }
            guard isRunning() else {
                throw probe.stopped(lastEndpoint.map { "\($0) answered (last: \(last ?? ""))" } ?? "libvirt knew its address")
            }
            Thread.sleep(forTimeInterval: 0.25)
        }
        guard let lastEndpoint else {
            throw probe.notReady("libvirt knows no address of \(domain?.name ?? "the guest") (DHCP lease, guest agent, ARP); give --ready-host HOST")
        }
        throw probe.notReady("\(lastEndpoint) did not answer (last: \(last ?? "no attempt"))")
    }

    /// The host and port to try now; nil while libvirt knows no address of the guest.
    private func endpoint() -> (String, Int)? {
        switch target {
        case .host(let host, let port): return (host, port)
        case .forward(let hostPort, _): return ("127.0.0.1", hostPort)
        case .guestAddress(let port):
            guard let domain else { return nil }
            for source in [AddressSource.lease, .agent, .arp] {
                // a source that fails (no agent, no lease file) knows nothing yet; try the next
                guard let interfaces = try? domain.interfaceAddresses(from: source) else { continue }
                let addresses = interfaces.filter { $0.name != "lo" }.flatMap(\.addresses)
                    .filter { !$0.address.hasPrefix("127.") && $0.address != "::1" && !$0.address.lowercased().hasPrefix("fe80:") }
                if let best = addresses.first(where: { !$0.isIPv6 }) ?? addresses.first { return (best.address, port) }
            }
            return nil
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

/// One TCP connection attempt with a deadline (non-blocking connect, then poll).
enum TCPConnect {
    enum Outcome: Equatable {
        case success
        /// Why not: "connection refused", "timed out", a resolver message.
        case failure(String)
    }

    /// A connection accepted (the descriptor, the caller closes it), or why not.
    enum Opened {
        case success(Int32)
        case failure(String)
    }

    static func attempt(host: String, port: Int, timeout: Double) -> Outcome {
        switch open(host: host, port: port, timeout: timeout) {
        case .success(let fd): close(fd); return .success
        case .failure(let why): return .failure(why)
        }
    }

    /// Connects to each address `host` resolves to in turn, each within `timeout`.
    static func open(host: String, port: Int, timeout: Double) -> Opened {
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_flags = AI_ADDRCONFIG
        var list: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(host, String(port), &hints, &list)
        guard status == 0, let list else { return .failure("cannot resolve \(host): \(String(cString: gai_strerror(status)))") }
        defer { freeaddrinfo(list) }
        var result = Opened.failure("no address for \(host)")
        var next: UnsafeMutablePointer<addrinfo>? = list
        while let ai = next {
            result = connect(ai.pointee, timeout: timeout)
            if case .success = result { return result }
            next = ai.pointee.ai_next
        }
        return result
    }

    private static func connect(_ ai: addrinfo, timeout: Double) -> Opened {
        let fd = socket(ai.ai_family, ai.ai_socktype | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), ai.ai_protocol)
        guard fd >= 0 else { return .failure(String(cString: strerror(errno))) }
        let failed = { (why: String) -> Opened in close(fd); return .failure(why) }
        if Glibc.connect(fd, ai.ai_addr, ai.ai_addrlen) == 0 { return .success(fd) }
        guard errno == EINPROGRESS else { return failed(String(cString: strerror(errno))) }
        var pfd = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
        let ready = poll(&pfd, 1, Int32(timeout * 1000))
        guard ready > 0 else { return failed(ready == 0 ? "timed out after \(String(format: "%.1f", timeout)) s" : String(cString: strerror(errno))) }
        var error: Int32 = 0
        var length = socklen_t(MemoryLayout<Int32>.size)
        getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length)
        return error == 0 ? .success(fd) : failed(String(cString: strerror(error)))
    }

    /// A TCP port on 127.0.0.1 that nothing listens on right now (the kernel picks it).
    static func freeLoopbackPort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw StoreError(.io, "socket: \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
        }
        guard bound else { throw StoreError(.io, "no free port on 127.0.0.1: \(String(cString: strerror(errno)))") }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}
