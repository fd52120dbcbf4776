internal import CLibvirt

/// An XML namespace for our own element inside a domain's `<metadata>`; libvirt keeps one element
/// per namespace URI and serialises it with the given prefix.
public struct MetadataNamespace: Hashable, Sendable {
    /// The namespace URI, which identifies the element.
    public let uri: String
    /// The prefix libvirt writes on the element.
    public let prefix: String

    public init(uri: String, prefix: String) {
        self.uri = uri
        self.prefix = prefix
    }

    /// Understudy's standby metadata: `<understudy:… xmlns:understudy="https://understudy.dev/xmlns/standby/1">`.
    public static let understudy = MetadataNamespace(uri: "https://understudy.dev/xmlns/standby/1", prefix: "understudy")
}

extension Domain {
    /// Our metadata element in `namespace` as XML text, or nil if the domain has none.
    /// libvirt returns it without the prefix, with the namespace as default `xmlns`.
    /// The corresponding C function is `virDomainGetMetadata` with `VIR_DOMAIN_METADATA_ELEMENT`.
    public func metadata(in namespace: MetadataNamespace = .understudy, impact: Impact = .current) throws(LibvirtError) -> String? {
        do {
            let text = try check(
                virDomainGetMetadata(pointer, Int32(VIR_DOMAIN_METADATA_ELEMENT.rawValue), namespace.uri, impact.rawValue),
                "virDomainGetMetadata", site)
            return consumeString(text)
        } catch where error.code == .noDomainMetadata {
            return nil
        }
    }

    /// Replaces our metadata element in `namespace` with `xml` (one element, written without a
    /// prefix; libvirt adds it), or removes it when `xml` is nil.
    /// The corresponding C function is `virDomainSetMetadata` with `VIR_DOMAIN_METADATA_ELEMENT`.
    public func setMetadata(_ xml: String?, in namespace: MetadataNamespace = .understudy, impact: Impact = .current) throws(LibvirtError) {
        try check(
            virDomainSetMetadata(pointer, Int32(VIR_DOMAIN_METADATA_ELEMENT.rawValue), xml,
                                 xml == nil ? nil : namespace.prefix, namespace.uri, impact.rawValue),
            "virDomainSetMetadata", site)
    }
}
