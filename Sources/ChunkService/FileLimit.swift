import Glibc

/// The process's open-file limit. A server holds a descriptor per connection, per open pack and
/// per SQLite connection; the usual soft limit of 1,024 is far below what the kernel allows.
public enum FileLimit {
    /// Most descriptors asked for, whatever the hard limit says (some containers allow 2³⁰).
    static let ceiling: rlim_t = 1 << 20

    /// Raises the soft limit to the hard limit (at most 2²⁰); returns the limits before and after.
    @discardableResult
    public static func raise() -> (before: UInt64, after: UInt64) {
        var limit = rlimit()
        guard getrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return (0, 0) }
        let before = limit.rlim_cur
        let wanted = min(limit.rlim_max, ceiling)
        guard wanted > before else { return (UInt64(before), UInt64(before)) }
        limit.rlim_cur = wanted
        guard setrlimit(__rlimit_resource_t(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return (UInt64(before), UInt64(before)) }
        return (UInt64(before), UInt64(wanted))
    }
}
