import AsyncHTTPClient
import Foundation
import NIOCore
import NIOPosix
import NIOSSL

/// What went wrong on the way to the server, as one sentence for a person at a rescue console:
/// "connection refused (nothing listens on 10.0.0.5:8080 ...)" rather than NIO's
/// "connection reset (error set): Connection refused (errno: 111)".
enum ConnectionFailure {
    static func describe(_ error: any Error, server: String) -> String {
        if let error = error as? NIOSSLError {
            return "TLS: \(error) (pass --ca-cert PEM to trust the server's certificate)"
        }
        if let error = error as? NIOConnectionError {
            if let dns = error.dnsAError ?? error.dnsAAAAError {
                return "cannot resolve the host name \(error.host) (\(dns)); check the address, or use the server's IP address"
            }
            if let first = error.connectionErrors.first { return describe(first.error, server: server) }
        }
        if let error = error as? IOError { return describe(errno: error.errnoCode, server: server) }
        if let error = error as? HTTPClientError {
            switch error {
            case .connectTimeout: return "no connection within 10 s (a firewall, a wrong address, or the server is down)"
            case .readTimeout, .deadlineExceeded: return "the server stopped answering (no data within the time limit)"
            case .remoteConnectionClosed: return "the server closed the connection before it answered"
            case .tlsHandshakeTimeout: return "the TLS handshake did not finish in time (is the server https?)"
            default: return "\(error)"
            }
        }
        if let error = error as? ChannelError, case .connectTimeout = error {
            return "no connection within 10 s (a firewall, a wrong address, or the server is down)"
        }
        return "\(error)"
    }

    static func describe(errno code: Int32, server: String) -> String {
        switch code {
        case ECONNREFUSED: return "connection refused: nothing listens on that host and port (is `understudy serve --listen` running there?)"
        case ECONNRESET: return "the connection was reset by the server"
        case EPIPE: return "the server closed the connection"
        case ETIMEDOUT: return "the connection timed out"
        case EHOSTUNREACH, EHOSTDOWN: return "the host of \(server) cannot be reached (check the address and this machine's network)"
        case ENETUNREACH, ENETDOWN: return "no network route to \(server) (is this machine's network configured?)"
        default: return String(cString: strerror(code)).lowercased()
        }
    }
}
