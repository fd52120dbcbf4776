internal import CLibvirt

/// A libvirt virtual network, persistent or transient, active or not.
/// The corresponding C type is `virNetworkPtr`; the handle is freed when the last reference goes
/// away, which does not affect the network itself.
///
/// Sendable for the reasons given on `Connection`; it holds only immutable state.
public final class Network: @unchecked Sendable {
    let pointer: OpaquePointer
    /// The connection this network was found on.
    public let connection: Connection
    /// The network's name. The corresponding C function is `virNetworkGetName`.
    public let name: String

    init(_ pointer: OpaquePointer, connection: Connection) {
        self.pointer = pointer
        self.connection = connection
        self.name = virNetworkGetName(pointer).map { String(cString: $0) } ?? ""
    }

    deinit { virNetworkFree(pointer) }

    var site: CallSite { CallSite(uri: connection.uri, object: name) }
}

extension Network {
    /// The network's UUID in its textual form. The corresponding C function is `virNetworkGetUUIDString`.
    public func uuid() throws(LibvirtError) -> String {
        var buffer = [CChar](repeating: 0, count: Int(VIR_UUID_STRING_BUFLEN))
        try check(virNetworkGetUUIDString(pointer, &buffer), "virNetworkGetUUIDString", site)
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// Whether the network is running. The corresponding C function is `virNetworkIsActive`.
    public func isActive() throws(LibvirtError) -> Bool {
        try check(virNetworkIsActive(pointer), "virNetworkIsActive", site) == 1
    }

    /// Whether the network has a persistent definition. The corresponding C function is `virNetworkIsPersistent`.
    public func isPersistent() throws(LibvirtError) -> Bool {
        try check(virNetworkIsPersistent(pointer), "virNetworkIsPersistent", site) == 1
    }

    /// The network's XML. The corresponding C function is `virNetworkGetXMLDesc`.
    public func xmlDescription(inactive: Bool = false) throws(LibvirtError) -> String {
        let flags = inactive ? VIR_NETWORK_XML_INACTIVE.rawValue : 0
        return consumeString(try check(virNetworkGetXMLDesc(pointer, flags), "virNetworkGetXMLDesc", site))
    }

    /// Starts a defined network. The corresponding C function is `virNetworkCreate`.
    public func start() throws(LibvirtError) {
        try check(virNetworkCreate(pointer), "virNetworkCreate", site)
    }

    /// Stops the network; a transient one disappears. The corresponding C function is `virNetworkDestroy`.
    public func destroy() throws(LibvirtError) {
        try check(virNetworkDestroy(pointer), "virNetworkDestroy", site)
    }

    /// Removes the persistent definition. The corresponding C function is `virNetworkUndefine`.
    public func undefine() throws(LibvirtError) {
        try check(virNetworkUndefine(pointer), "virNetworkUndefine", site)
    }

    /// Destroys the network if active and undefines it if persistent, ignoring "already gone".
    public func remove() throws(LibvirtError) {
        do {
            if try isActive() { try destroy() }
            if try isPersistent() { try undefine() }
        } catch where error.code == .noNetwork || error.code == .operationInvalid {
            return
        }
    }
}
