internal import CLibvirt

/// Why libvirt says a domain is paused (`virDomainPausedReason`), the reason code that
/// `Domain.stateAndReason()` returns with `DomainState.paused`.
///
/// qemu stopping a guest on its own — KVM's "emulation failure", an internal error — reaches
/// libvirt as a stop it did not ask for, which it reports as `unknown`.
public struct PauseReason: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: Int32
    public init(rawValue: Int32) { self.rawValue = rawValue }

    public static let unknown = PauseReason(rawValue: Int32(VIR_DOMAIN_PAUSED_UNKNOWN.rawValue))
    public static let user = PauseReason(rawValue: Int32(VIR_DOMAIN_PAUSED_USER.rawValue))
    public static let ioError = PauseReason(rawValue: Int32(VIR_DOMAIN_PAUSED_IOERROR.rawValue))
    public static let watchdog = PauseReason(rawValue: Int32(VIR_DOMAIN_PAUSED_WATCHDOG.rawValue))
    public static let crashed = PauseReason(rawValue: Int32(VIR_DOMAIN_PAUSED_CRASHED.rawValue))
    public static let startingUp = PauseReason(rawValue: Int32(VIR_DOMAIN_PAUSED_STARTING_UP.rawValue))
    public static let postcopyFailed = PauseReason(rawValue: Int32(VIR_DOMAIN_PAUSED_POSTCOPY_FAILED.rawValue))

    public var description: String {
        switch self {
        case .unknown: "unknown (qemu stopped the guest itself, e.g. an accelerator's internal error)"
        case .user: "by a user"
        case .ioError: "disk I/O error"
        case .watchdog: "watchdog"
        case .crashed: "guest crashed"
        case .startingUp: "starting up"
        case .postcopyFailed: "post-copy migration failed"
        default: "reason \(rawValue)"
        }
    }
}
