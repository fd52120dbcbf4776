import Foundation

/// The real libvirtd for tests. There is no systemd on our hosts, so when `qemu:///system` does
/// not answer, the daemons are started here (`virtlogd -d; libvirtd -d`), once per test process.
public enum Libvirtd {
    public static let uri = "qemu:///system"

    /// nil when the daemon answers, else why not.
    public static let unavailableReason: String? = ensureRunning()

    public static var available: Bool { unavailableReason == nil }

    /// Starts virtlogd and libvirtd if `virsh -c qemu:///system version` fails, then waits up to
    /// 15 s for the daemon to answer.
    ///
    /// The daemons are started with every inherited descriptor above stderr closed: Foundation's
    /// `Process` learns that a child ended when a socket the child inherited closes, so a daemon
    /// forked from that child and keeping the socket would make `waitUntilExit` wait forever.
    static func ensureRunning() -> String? {
        if answers() { return nil }
        guard getuid() == 0 else { return "libvirtd is not running at \(uri) and starting it needs root" }
        guard shell("command -v libvirtd && command -v virtlogd").status == 0 else {
            return "libvirtd/virtlogd are not installed (scripts/install-deps.sh installs libvirt-daemon-system)"
        }
        let start = shell("""
            for fd in /proc/$$/fd/*; do fd=${fd##*/}; [ "$fd" -gt 2 ] && eval "exec $fd>&-"; done 2>/dev/null
            virtlogd -d </dev/null >/dev/null 2>&1   # exits at once if one already runs
            libvirtd -d </dev/null >/dev/null 2>&1
            """)
        let deadline = Date().addingTimeInterval(15)
        while Date() < deadline {
            if answers() { return nil }
            Thread.sleep(forTimeInterval: 0.25)
        }
        return "libvirtd did not answer at \(uri) after `virtlogd -d; libvirtd -d`: \(start.output)"
    }

    private static func answers() -> Bool {
        shell("virsh -c '\(uri)' version >/dev/null 2>&1").status == 0
    }

    /// Removes a domain whatever its state (tests clean up after themselves).
    public static func remove(_ domain: String) {
        shell("virsh -c \(uri) destroy '\(domain)' >/dev/null 2>&1; virsh -c \(uri) undefine --nvram '\(domain)' >/dev/null 2>&1")
    }
}
