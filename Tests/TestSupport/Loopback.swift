import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// TCP on 127.0.0.1 only, for readiness tests (tests never send traffic anywhere else).
public enum Loopback {
    /// A listening socket on 127.0.0.1:`port` (0: the kernel picks); close it with `close`.
    public struct Listener: Sendable {
        public let fd: Int32
        public let port: Int
        public func close() { _ = Glibc.close(fd) }
    }

    /// Binds 127.0.0.1:`port`; listens unless `listen` is false (then connects are refused).
    public static func bind(port: Int = 0, listen: Bool = true) throws -> Listener {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw CLIError(message: "socket: \(String(cString: strerror(errno)))") }
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = UInt16(port).bigEndian
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let ok = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Glibc.bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0
            }
        }
        guard ok, !listen || Glibc.listen(fd, 16) == 0 else {
            let why = String(cString: strerror(errno))
            _ = Glibc.close(fd)
            throw CLIError(message: "cannot bind 127.0.0.1:\(port): \(why)")
        }
        return Listener(fd: fd, port: Int(UInt16(bigEndian: address.sin_port)))
    }

    /// A port on 127.0.0.1 that nothing listens on now.
    public static func freePort() throws -> Int {
        let l = try bind(listen: false)
        defer { l.close() }
        return l.port
    }
}
