import Foundation
import Libvirt
#if canImport(Glibc)
import Glibc
#endif

/// Whether a user-mode forward reaches a listening guest port. qemu's slirp accepts on
/// 127.0.0.1:HOSTPORT at once, then connects to the guest: if the guest refuses it closes our
/// connection; while the guest's network is down it keeps trying (SYN_SENT) and holds it open.
/// Only qemu knows which, so while holding one connection this asks it (`info usernet`).
enum UserForward {
    static func attempt(hostPort: Int, guestPort: Int, domain: Domain?, timeout: Double) -> TCPConnect.Outcome {
        guard let domain else { return .failure("no domain to ask about the forward") }
        let fd: Int32
        switch TCPConnect.open(host: "127.0.0.1", port: hostPort, timeout: timeout) {
        case .success(let opened): fd = opened
        case .failure(let why): return .failure(why)
        }
        defer { close(fd) }
        let deadline = Date().addingTimeInterval(timeout)
        var seen = "no connection listed"
        repeat {
            if closedByPeer(fd) { return .failure("the guest refused port \(guestPort) (qemu closed the forwarded connection)") }
            do {
                let table = try domain.humanMonitorCommand("info usernet")
                if let found = state(in: table, hostPort: hostPort, guestPort: guestPort) {
                    if found == "ESTABLISHED" { return .success }
                    seen = found
                }
            } catch {
                return .failure("cannot ask qemu about the forward: \(error.message)")
            }
            Thread.sleep(forTimeInterval: 0.1)
        } while Date() < deadline
        return .failure(seen == "SYN_SENT" ? "the guest does not answer on its network yet (qemu's connection to it: SYN_SENT)" : "qemu's connection to the guest: \(seen)")
    }

    /// The TCP state qemu reports for a connection from the forward of `hostPort` to `guestPort`,
    /// preferring ESTABLISHED. Rows: `TCP[STATE] FD SRC-ADDR SRC-PORT DEST-ADDR DEST-PORT RECVQ SENDQ`.
    static func state(in table: String, hostPort: Int, guestPort: Int) -> String? {
        let states = table.split(whereSeparator: \.isNewline).compactMap { line -> String? in
            let f = line.split(whereSeparator: \.isWhitespace)
            guard f.count >= 6, f[0].hasPrefix("TCP["), f[0] != "TCP[HOST_FORWARD]",
                  f[3] == String(hostPort), f[5] == String(guestPort) else { return nil }
            return String(f[0].dropFirst(4).dropLast())
        }
        return states.contains("ESTABLISHED") ? "ESTABLISHED" : states.first
    }

    /// True when the peer has closed or reset the connection (readable with nothing to read).
    private static func closedByPeer(_ fd: Int32) -> Bool {
        var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        guard poll(&pfd, 1, 0) > 0 else { return false }
        var byte: UInt8 = 0
        let n = recv(fd, &byte, 1, Int32(MSG_PEEK) | Int32(MSG_DONTWAIT))
        return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
    }
}
