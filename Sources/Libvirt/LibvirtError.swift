internal import CLibvirt
#if canImport(Glibc)
internal import Glibc
#endif

/// A libvirt failure: the C error code and domain, libvirt's message, and where it happened
/// (the C function, the connection URI and the object it acted on).
///
/// Match on `code` (and `domain`), never on `message`.
public struct LibvirtError: Error, CustomStringConvertible, Sendable {
    /// What went wrong; libvirt's `virErrorNumber`, or a negative value for failures this
    /// wrapper detects itself.
    public let code: Code
    /// The part of libvirt that reported it; libvirt's `virErrorDomain`.
    public let domain: Domain
    /// libvirt's message, as it reported it.
    public let message: String
    /// The C function that failed, e.g. `virDomainCreate`.
    public let operation: String
    /// The connection URI, when the call had one.
    public let uri: String?
    /// The domain or network the call acted on, when it had one.
    public let object: String?
    /// What the operator can do about it, when we know.
    public let hint: String?

    public init(code: Code, domain: Domain = .none, message: String, operation: String,
                uri: String? = nil, object: String? = nil, hint: String? = nil) {
        self.code = code
        self.domain = domain
        self.message = message
        self.operation = operation
        self.uri = uri
        self.object = object
        self.hint = hint
    }

    public var description: String {
        var text = "libvirt: \(operation)"
        if let object { text += " on '\(object)'" }
        if let uri { text += " at \(uri)" }
        text += " failed: \(message) (\(code), from \(domain))"
        if let hint { text += ". \(hint)" }
        return text
    }

    /// The same error with a hint attached.
    func with(hint: String) -> LibvirtError {
        LibvirtError(code: code, domain: domain, message: message, operation: operation,
                     uri: uri, object: object, hint: hint)
    }

    /// Reads and clears this thread's last libvirt error. libvirt keeps it in thread-local storage
    /// and resets it at the start of every API call, so it must be read right after the failing call
    /// on the same thread, which `check` does. The corresponding C function is `virGetLastError`.
    static func last(operation: String, uri: String?, object: String?) -> LibvirtError {
        guard let error = virGetLastError() else {
            return LibvirtError(code: .unknown, message: "libvirt reported no error", operation: operation,
                                uri: uri, object: object)
        }
        let message = error.pointee.message.map { String(cString: $0) } ?? "no message"
        let result = LibvirtError(code: Code(rawValue: error.pointee.code),
                                  domain: Domain(rawValue: error.pointee.domain),
                                  message: message, operation: operation, uri: uri, object: object)
        virResetLastError()
        return result
    }
}

extension LibvirtError {
    /// A libvirt error number (`virErrorNumber`). New libvirt versions add numbers, so this is a
    /// struct, not an exhaustive enum.
    public struct Code: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
        public let rawValue: Int32
        public init(rawValue: Int32) { self.rawValue = rawValue }

        public static let ok = Code(rawValue: Int32(VIR_ERR_OK.rawValue))
        public static let internalError = Code(rawValue: Int32(VIR_ERR_INTERNAL_ERROR.rawValue))
        public static let noSupport = Code(rawValue: Int32(VIR_ERR_NO_SUPPORT.rawValue))
        public static let noConnect = Code(rawValue: Int32(VIR_ERR_NO_CONNECT.rawValue))
        public static let invalidArgument = Code(rawValue: Int32(VIR_ERR_INVALID_ARG.rawValue))
        public static let operationFailed = Code(rawValue: Int32(VIR_ERR_OPERATION_FAILED.rawValue))
        public static let xmlError = Code(rawValue: Int32(VIR_ERR_XML_ERROR.rawValue))
        public static let domainExists = Code(rawValue: Int32(VIR_ERR_DOM_EXIST.rawValue))
        public static let xmlDetail = Code(rawValue: Int32(VIR_ERR_XML_DETAIL.rawValue))
        public static let networkExists = Code(rawValue: Int32(VIR_ERR_NETWORK_EXIST.rawValue))
        public static let systemError = Code(rawValue: Int32(VIR_ERR_SYSTEM_ERROR.rawValue))
        public static let noDomain = Code(rawValue: Int32(VIR_ERR_NO_DOMAIN.rawValue))
        public static let noNetwork = Code(rawValue: Int32(VIR_ERR_NO_NETWORK.rawValue))
        public static let authFailed = Code(rawValue: Int32(VIR_ERR_AUTH_FAILED.rawValue))
        public static let operationInvalid = Code(rawValue: Int32(VIR_ERR_OPERATION_INVALID.rawValue))
        public static let configUnsupported = Code(rawValue: Int32(VIR_ERR_CONFIG_UNSUPPORTED.rawValue))
        public static let operationTimeout = Code(rawValue: Int32(VIR_ERR_OPERATION_TIMEOUT.rawValue))
        public static let operationAborted = Code(rawValue: Int32(VIR_ERR_OPERATION_ABORTED.rawValue))
        public static let noDomainMetadata = Code(rawValue: Int32(VIR_ERR_NO_DOMAIN_METADATA.rawValue))
        public static let operationUnsupported = Code(rawValue: Int32(VIR_ERR_OPERATION_UNSUPPORTED.rawValue))
        public static let argumentUnsupported = Code(rawValue: Int32(VIR_ERR_ARGUMENT_UNSUPPORTED.rawValue))
        /// No guest agent listens, or it did not answer in time.
        public static let agentUnresponsive = Code(rawValue: Int32(VIR_ERR_AGENT_UNRESPONSIVE.rawValue))
        /// The agent answered another request than ours (a restarted agent); asking again helps.
        public static let agentUnsynced = Code(rawValue: Int32(VIR_ERR_AGENT_UNSYNCED.rawValue))

        /// This wrapper's own codes are negative so they never collide with libvirt's.
        /// libvirt failed but left no error behind.
        public static let unknown = Code(rawValue: -1)
        /// An image (screenshot) is not in a format we can decode.
        public static let unsupportedImage = Code(rawValue: -2)

        private static let names: [Code: String] = [
            .ok: "ok", .internalError: "internalError", .noSupport: "noSupport", .noConnect: "noConnect",
            .invalidArgument: "invalidArgument", .operationFailed: "operationFailed", .xmlError: "xmlError",
            .domainExists: "domainExists", .xmlDetail: "xmlDetail", .networkExists: "networkExists",
            .systemError: "systemError", .noDomain: "noDomain", .noNetwork: "noNetwork",
            .authFailed: "authFailed", .operationInvalid: "operationInvalid",
            .configUnsupported: "configUnsupported", .operationTimeout: "operationTimeout",
            .operationAborted: "operationAborted", .noDomainMetadata: "noDomainMetadata",
            .operationUnsupported: "operationUnsupported", .argumentUnsupported: "argumentUnsupported",
            .agentUnresponsive: "agentUnresponsive", .agentUnsynced: "agentUnsynced", .unknown: "unknown",
            .unsupportedImage: "unsupportedImage",
        ]

        public var description: String { Code.names[self].map { "\($0) (\(rawValue))" } ?? "code \(rawValue)" }
    }

    /// The libvirt subsystem that raised an error (`virErrorDomain`).
    public struct Domain: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
        public let rawValue: Int32
        public init(rawValue: Int32) { self.rawValue = rawValue }

        public static let none = Domain(rawValue: Int32(VIR_FROM_NONE.rawValue))
        public static let qemu = Domain(rawValue: Int32(VIR_FROM_QEMU.rawValue))
        public static let dom = Domain(rawValue: Int32(VIR_FROM_DOM.rawValue))
        public static let rpc = Domain(rawValue: Int32(VIR_FROM_RPC.rawValue))
        public static let network = Domain(rawValue: Int32(VIR_FROM_NETWORK.rawValue))
        public static let remote = Domain(rawValue: Int32(VIR_FROM_REMOTE.rawValue))
        public static let stream = Domain(rawValue: Int32(VIR_FROM_STREAMS.rawValue))
        public static let domain = Domain(rawValue: Int32(VIR_FROM_DOMAIN.rawValue))

        private static let names: [Domain: String] = [
            .none: "none", .qemu: "qemu", .dom: "dom", .rpc: "rpc", .network: "network",
            .remote: "remote", .stream: "stream", .domain: "domain",
        ]

        public var description: String { Domain.names[self] ?? "domain \(rawValue)" }
    }
}

/// Where a libvirt call happened, for the error it may raise.
struct CallSite {
    var uri: String?
    var object: String?
}

/// The one check every libvirt call goes through: a negative status means failure, and the error
/// is read at once from libvirt's thread-local slot.
@inline(__always)
@discardableResult
func check(_ status: Int32, _ operation: String, _ site: CallSite) throws(LibvirtError) -> Int32 {
    if status < 0 { throw LibvirtError.last(operation: operation, uri: site.uri, object: site.object) }
    return status
}

/// The same check for calls that return a pointer: NULL means failure.
@inline(__always)
func check<T>(_ result: T?, _ operation: String, _ site: CallSite) throws(LibvirtError) -> T {
    guard let result else { throw LibvirtError.last(operation: operation, uri: site.uri, object: site.object) }
    return result
}

/// Takes a `char *` libvirt allocated, copies it and frees it.
func consumeString(_ pointer: UnsafeMutablePointer<CChar>) -> String {
    defer { free(pointer) }
    return String(cString: pointer)
}

/// Initializes libvirt once per process and silences its default error printer, which would write
/// every error (including "domain not found" from a lookup) to stderr. Errors still reach us through
/// `virGetLastError`. The corresponding C functions are `virInitialize` and `virSetErrorFunc`.
let libvirtInitialized: Bool = {
    guard virInitialize() == 0 else { return false }
    virSetErrorFunc(nil) { _, _ in }
    return true
}()
