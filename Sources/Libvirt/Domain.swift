internal import CLibvirt

/// A libvirt domain (a virtual machine), persistent or transient, running or not.
/// The corresponding C type is `virDomainPtr`; the handle is freed when the last reference goes
/// away, which does not affect the domain itself.
///
/// Sendable for the reasons given on `Connection`; it holds only immutable state.
public final class Domain: @unchecked Sendable {
    let pointer: OpaquePointer
    /// The connection this domain was found on; kept alive as long as the domain handle.
    public let connection: Connection
    /// The domain's name (fixed for the life of the handle).
    /// The corresponding C function is `virDomainGetName`.
    public let name: String

    init(_ pointer: OpaquePointer, connection: Connection) {
        self.pointer = pointer
        self.connection = connection
        self.name = virDomainGetName(pointer).map { String(cString: $0) } ?? ""
    }

    deinit { virDomainFree(pointer) }

    var site: CallSite { CallSite(uri: connection.uri, object: name) }
}

/// What a domain is doing (`virDomainState`).
public struct DomainState: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: Int32
    public init(rawValue: Int32) { self.rawValue = rawValue }

    public static let noState = DomainState(rawValue: Int32(VIR_DOMAIN_NOSTATE.rawValue))
    public static let running = DomainState(rawValue: Int32(VIR_DOMAIN_RUNNING.rawValue))
    public static let blocked = DomainState(rawValue: Int32(VIR_DOMAIN_BLOCKED.rawValue))
    public static let paused = DomainState(rawValue: Int32(VIR_DOMAIN_PAUSED.rawValue))
    public static let shuttingDown = DomainState(rawValue: Int32(VIR_DOMAIN_SHUTDOWN.rawValue))
    public static let shutOff = DomainState(rawValue: Int32(VIR_DOMAIN_SHUTOFF.rawValue))
    public static let crashed = DomainState(rawValue: Int32(VIR_DOMAIN_CRASHED.rawValue))
    public static let suspended = DomainState(rawValue: Int32(VIR_DOMAIN_PMSUSPENDED.rawValue))

    public var description: String {
        switch self {
        case .noState: "no state"
        case .running: "running"
        case .blocked: "blocked"
        case .paused: "paused"
        case .shuttingDown: "shutting down"
        case .shutOff: "shut off"
        case .crashed: "crashed"
        case .suspended: "suspended (power management)"
        default: "state \(rawValue)"
        }
    }
}

extension Domain {
    /// Options for `undefine` (`virDomainUndefineFlagsValues`).
    public struct UndefineOptions: OptionSet, Sendable {
        public let rawValue: UInt32
        public init(rawValue: UInt32) { self.rawValue = rawValue }

        /// Also remove a managed-save image.
        public static let managedSave = UndefineOptions(rawValue: VIR_DOMAIN_UNDEFINE_MANAGED_SAVE.rawValue)
        /// Also remove snapshot metadata (not the snapshot data).
        public static let snapshotsMetadata = UndefineOptions(rawValue: VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA.rawValue)
        /// Also remove the UEFI variable store (needed for OVMF domains).
        public static let nvram = UndefineOptions(rawValue: VIR_DOMAIN_UNDEFINE_NVRAM.rawValue)
        /// Keep the UEFI variable store.
        public static let keepNVRAM = UndefineOptions(rawValue: VIR_DOMAIN_UNDEFINE_KEEP_NVRAM.rawValue)
        /// Also remove checkpoint metadata.
        public static let checkpointsMetadata = UndefineOptions(rawValue: VIR_DOMAIN_UNDEFINE_CHECKPOINTS_METADATA.rawValue)

        /// Everything libvirt keeps beside the definition: what a clean removal wants.
        public static let all: UndefineOptions = [.managedSave, .snapshotsMetadata, .nvram, .checkpointsMetadata]
    }

    /// Options for `xmlDescription` (`virDomainXMLFlags`).
    public struct XMLOptions: OptionSet, Sendable {
        public let rawValue: UInt32
        public init(rawValue: UInt32) { self.rawValue = rawValue }

        /// Include security-sensitive data such as VNC passwords.
        public static let secure = XMLOptions(rawValue: VIR_DOMAIN_XML_SECURE.rawValue)
        /// The persistent definition, not the running one.
        public static let inactive = XMLOptions(rawValue: VIR_DOMAIN_XML_INACTIVE.rawValue)
        /// Update the guest CPU model to what the host provides.
        public static let updateCPU = XMLOptions(rawValue: VIR_DOMAIN_XML_UPDATE_CPU.rawValue)
        /// Suitable for migration: no defaults libvirt added.
        public static let migratable = XMLOptions(rawValue: VIR_DOMAIN_XML_MIGRATABLE.rawValue)
    }

    /// Which definition a change applies to (`virDomainModificationImpact`).
    public struct Impact: OptionSet, Sendable {
        public let rawValue: UInt32
        public init(rawValue: UInt32) { self.rawValue = rawValue }

        /// The running domain if it runs, else the persistent definition (the empty set).
        public static let current: Impact = []
        /// The running domain.
        public static let live = Impact(rawValue: VIR_DOMAIN_AFFECT_LIVE.rawValue)
        /// The persistent definition.
        public static let config = Impact(rawValue: VIR_DOMAIN_AFFECT_CONFIG.rawValue)
    }
}

// MARK: - Identity and state

extension Domain {
    /// The domain's UUID in its textual form. The corresponding C function is `virDomainGetUUIDString`.
    public func uuid() throws(LibvirtError) -> String {
        var buffer = [CChar](repeating: 0, count: Int(VIR_UUID_STRING_BUFLEN))
        try check(virDomainGetUUIDString(pointer, &buffer), "virDomainGetUUIDString", site)
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// The domain's state and libvirt's reason code for it (whose meaning depends on the state).
    /// The corresponding C function is `virDomainGetState`.
    public func stateAndReason() throws(LibvirtError) -> (state: DomainState, reason: Int32) {
        var state: Int32 = 0, reason: Int32 = 0
        try check(virDomainGetState(pointer, &state, &reason, 0), "virDomainGetState", site)
        return (DomainState(rawValue: state), reason)
    }

    /// The domain's state. The corresponding C function is `virDomainGetState`.
    public func state() throws(LibvirtError) -> DomainState { try stateAndReason().state }

    /// Whether the domain runs. The corresponding C function is `virDomainIsActive`.
    public func isActive() throws(LibvirtError) -> Bool {
        try check(virDomainIsActive(pointer), "virDomainIsActive", site) == 1
    }

    /// Whether the domain has a persistent definition. The corresponding C function is `virDomainIsPersistent`.
    public func isPersistent() throws(LibvirtError) -> Bool {
        try check(virDomainIsPersistent(pointer), "virDomainIsPersistent", site) == 1
    }

    /// The domain's XML. The corresponding C function is `virDomainGetXMLDesc`.
    public func xmlDescription(_ options: XMLOptions = []) throws(LibvirtError) -> String {
        consumeString(try check(virDomainGetXMLDesc(pointer, options.rawValue), "virDomainGetXMLDesc", site))
    }
}

// MARK: - Lifecycle

extension Domain {
    /// Starts a defined domain. The corresponding C function is `virDomainCreate`.
    public func start() throws(LibvirtError) {
        try check(virDomainCreate(pointer), "virDomainCreate", site)
    }

    /// Starts the domain with its CPUs paused: its disks are open, nothing runs (to copy them).
    /// The corresponding C function is `virDomainCreateWithFlags` with `VIR_DOMAIN_START_PAUSED`.
    public func startPaused() throws(LibvirtError) {
        try check(virDomainCreateWithFlags(pointer, UInt32(VIR_DOMAIN_START_PAUSED.rawValue)), "virDomainCreateWithFlags", site)
    }

    /// Stops the domain at once, like pulling the plug; a transient domain disappears.
    /// The corresponding C function is `virDomainDestroy`.
    public func destroy() throws(LibvirtError) {
        try check(virDomainDestroy(pointer), "virDomainDestroy", site)
    }

    /// Asks the guest to shut down (ACPI); returns before it has.
    /// The corresponding C function is `virDomainShutdown`.
    public func shutdown() throws(LibvirtError) {
        try check(virDomainShutdown(pointer), "virDomainShutdown", site)
    }

    /// Pauses the domain's CPUs. The corresponding C function is `virDomainSuspend`.
    public func suspend() throws(LibvirtError) {
        try check(virDomainSuspend(pointer), "virDomainSuspend", site)
    }

    /// Resumes a paused domain. The corresponding C function is `virDomainResume`.
    public func resume() throws(LibvirtError) {
        try check(virDomainResume(pointer), "virDomainResume", site)
    }

    /// Removes the persistent definition; a running domain keeps running as a transient one.
    /// The corresponding C function is `virDomainUndefineFlags`.
    public func undefine(_ options: UndefineOptions = []) throws(LibvirtError) {
        try check(virDomainUndefineFlags(pointer, options.rawValue), "virDomainUndefineFlags", site)
    }

    /// Destroys the domain if it runs and undefines it if it is persistent, ignoring "not running"
    /// and "already gone": the cleanup for tests and failed builds.
    public func remove(_ options: UndefineOptions = .all) throws(LibvirtError) {
        do {
            if try isActive() { try destroy() }
            if try isPersistent() { try undefine(options) }
        } catch where error.code == .noDomain || error.code == .operationInvalid {
            return
        }
    }
}
