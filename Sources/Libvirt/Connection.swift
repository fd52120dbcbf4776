internal import CLibvirt
#if canImport(Glibc)
internal import Glibc
#endif

/// A connection to a libvirt daemon, such as `qemu:///system`.
/// The corresponding C type is `virConnectPtr`; it is closed when the last reference goes away.
///
/// Sendable: the libvirt client library is thread-safe since 0.6.0 — a connection serialises its
/// RPC traffic under its own lock, and object handles are reference-counted atomically. Its last
/// error is thread-local, and every wrapper reads it synchronously on the thread of the failing
/// call, so concurrent callers never see each other's errors. This class holds only immutable state.
public final class Connection: @unchecked Sendable {
    let pointer: OpaquePointer
    /// The URI this connection was opened with.
    public let uri: String

    /// The URI Understudy uses unless told otherwise.
    public static let defaultURI = "qemu:///system"

    /// Opens a read-write connection. If the daemon cannot be reached, the error names the URI and
    /// says how to start the daemons (there is no systemd on our hosts).
    /// The corresponding C function is `virConnectOpen`.
    public init(uri: String = Connection.defaultURI) throws(LibvirtError) {
        guard libvirtInitialized else {
            throw LibvirtError(code: .internalError, message: "virInitialize failed", operation: "virInitialize", uri: uri)
        }
        self.uri = uri
        do {
            pointer = try check(virConnectOpen(uri), "virConnectOpen", CallSite(uri: uri))
        } catch {
            throw Connection.explain(error)
        }
    }

    deinit { virConnectClose(pointer) }

    /// Opens a connection, runs `body` with it, and releases it.
    public static func with<R>(uri: String = Connection.defaultURI, _ body: (Connection) throws -> R) throws -> R {
        let connection = try Connection(uri: uri)
        return try withExtendedLifetime(connection) { try body(connection) }
    }

    var site: CallSite { CallSite(uri: uri) }

    /// A failure to reach the daemon gets a hint; other failures (bad driver, auth) pass unchanged.
    private static func explain(_ error: LibvirtError) -> LibvirtError {
        let unreachable = error.domain == .rpc || error.domain == .remote || error.code == .noConnect
        guard unreachable else { return error }
        return error.with(hint: "Is libvirtd running? Start the daemons with `virtlogd -d; libvirtd -d` "
                              + "(no systemd here), then check with `virsh -c '\(error.uri ?? defaultURI)' version`")
    }
}

/// A libvirt or hypervisor version, `major.minor.release`.
public struct Version: Hashable, Comparable, Sendable, CustomStringConvertible {
    public let major: Int
    public let minor: Int
    public let release: Int

    public init(major: Int, minor: Int, release: Int) {
        self.major = major
        self.minor = minor
        self.release = release
    }

    /// libvirt encodes versions as `major * 1_000_000 + minor * 1_000 + release`.
    init(encoded: UInt) {
        self.init(major: Int(encoded / 1_000_000), minor: Int(encoded / 1_000 % 1_000), release: Int(encoded % 1_000))
    }

    public var description: String { "\(major).\(minor).\(release)" }

    public static func < (a: Version, b: Version) -> Bool {
        (a.major, a.minor, a.release) < (b.major, b.minor, b.release)
    }
}

extension Connection {
    /// The version of libvirt the daemon runs. The corresponding C function is `virConnectGetLibVersion`.
    public func libraryVersion() throws(LibvirtError) -> Version {
        var encoded: UInt = 0
        try check(virConnectGetLibVersion(pointer, &encoded), "virConnectGetLibVersion", site)
        return Version(encoded: encoded)
    }

    /// The hypervisor's version (qemu's, for `qemu://`). The corresponding C function is `virConnectGetVersion`.
    public func hypervisorVersion() throws(LibvirtError) -> Version {
        var encoded: UInt = 0
        try check(virConnectGetVersion(pointer, &encoded), "virConnectGetVersion", site)
        return Version(encoded: encoded)
    }

    /// The host's name as the daemon sees it. The corresponding C function is `virConnectGetHostname`.
    public func hostname() throws(LibvirtError) -> String {
        consumeString(try check(virConnectGetHostname(pointer), "virConnectGetHostname", site))
    }

    /// Whether the connection is still alive. The corresponding C function is `virConnectIsAlive`.
    public var isAlive: Bool { virConnectIsAlive(pointer) == 1 }
}

// MARK: - Domains

extension Connection {
    /// The domain called `name`, or nil if there is none (that is not an error).
    /// The corresponding C function is `virDomainLookupByName`.
    public func domain(named name: String) throws(LibvirtError) -> Domain? {
        do {
            let handle = try check(virDomainLookupByName(pointer, name), "virDomainLookupByName", CallSite(uri: uri, object: name))
            return Domain(handle, connection: self)
        } catch where error.code == .noDomain {
            return nil
        }
    }

    /// The domain with this UUID (textual form), or nil if there is none.
    /// The corresponding C function is `virDomainLookupByUUIDString`.
    public func domain(uuid: String) throws(LibvirtError) -> Domain? {
        do {
            let handle = try check(virDomainLookupByUUIDString(pointer, uuid), "virDomainLookupByUUIDString", CallSite(uri: uri, object: uuid))
            return Domain(handle, connection: self)
        } catch where error.code == .noDomain {
            return nil
        }
    }

    /// Defines (or redefines) a persistent domain from its XML; it is not started.
    /// The corresponding C function is `virDomainDefineXML`.
    public func defineDomain(xml: String) throws(LibvirtError) -> Domain {
        Domain(try check(virDomainDefineXML(pointer, xml), "virDomainDefineXML", site), connection: self)
    }

    /// Creates and starts a transient domain, which vanishes when it stops.
    /// The corresponding C function is `virDomainCreateXML`.
    public func createDomain(xml: String) throws(LibvirtError) -> Domain {
        Domain(try check(virDomainCreateXML(pointer, xml, 0), "virDomainCreateXML", site), connection: self)
    }

    /// All domains, running or not, persistent or transient.
    /// The corresponding C function is `virConnectListAllDomains`.
    public func domains() throws(LibvirtError) -> [Domain] {
        var list: UnsafeMutablePointer<OpaquePointer?>?
        let count = try check(virConnectListAllDomains(pointer, &list, 0), "virConnectListAllDomains", site)
        defer { free(list) }
        return (0..<Int(count)).compactMap { i in list?[i].map { Domain($0, connection: self) } }
    }
}

// MARK: - Networks

extension Connection {
    /// The network called `name`, or nil if there is none.
    /// The corresponding C function is `virNetworkLookupByName`.
    public func network(named name: String) throws(LibvirtError) -> Network? {
        do {
            let handle = try check(virNetworkLookupByName(pointer, name), "virNetworkLookupByName", CallSite(uri: uri, object: name))
            return Network(handle, connection: self)
        } catch where error.code == .noNetwork {
            return nil
        }
    }

    /// Defines a persistent network from its XML; it is not started.
    /// The corresponding C function is `virNetworkDefineXML`.
    public func defineNetwork(xml: String) throws(LibvirtError) -> Network {
        Network(try check(virNetworkDefineXML(pointer, xml), "virNetworkDefineXML", site), connection: self)
    }

    /// Creates and starts a transient network, which vanishes when destroyed.
    /// The corresponding C function is `virNetworkCreateXML`.
    public func createNetwork(xml: String) throws(LibvirtError) -> Network {
        Network(try check(virNetworkCreateXML(pointer, xml), "virNetworkCreateXML", site), connection: self)
    }

    /// All networks, active or not. The corresponding C function is `virConnectListAllNetworks`.
    public func networks() throws(LibvirtError) -> [Network] {
        var list: UnsafeMutablePointer<OpaquePointer?>?
        let count = try check(virConnectListAllNetworks(pointer, &list, 0), "virConnectListAllNetworks", site)
        defer { free(list) }
        return (0..<Int(count)).compactMap { i in list?[i].map { Network($0, connection: self) } }
    }
}
