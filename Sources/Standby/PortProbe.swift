import BlockStore
import Foundation
import Libvirt

/// Polls a TCP port until a connection is accepted.
struct PortProbe {
    var target: PortTarget
    var domain: Domain?

    func wait(_ probe: ReadinessProbe, isRunning: () throws -> Bool) throws -> Double {
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
            guard try isRunning() else {
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
