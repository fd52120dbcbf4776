import BlockStore
import Foundation
import Core
#if canImport(Glibc)
import Glibc
#endif

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
        guard fd >= 0 else { throw UnderstudyError(.io, "socket: \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
        }
        guard bound else { throw UnderstudyError(.io, "no free port on 127.0.0.1: \(String(cString: strerror(errno)))") }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}
