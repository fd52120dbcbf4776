import Foundation

/// The real libvirtd for tests: started (with virtlogd) when `virsh` cannot reach it, as there
/// is no systemd here.
public enum Libvirtd {
    public static let available: Bool = {
        if shell("virsh -c qemu:///system version >/dev/null 2>&1").status == 0 { return true }
        guard shell("command -v libvirtd && command -v virtlogd").status == 0 else { return false }
        shell("pgrep -x virtlogd >/dev/null || virtlogd -d; pgrep -x libvirtd >/dev/null || libvirtd -d")
        for _ in 0..<50 {
            if shell("virsh -c qemu:///system version >/dev/null 2>&1").status == 0 { return true }
            Thread.sleep(forTimeInterval: 0.2)
        }
        return false
    }()

    /// Removes a domain whatever its state (tests clean up after themselves).
    public static func remove(_ domain: String) {
        shell("virsh -c qemu:///system destroy '\(domain)' >/dev/null 2>&1; virsh -c qemu:///system undefine --nvram '\(domain)' >/dev/null 2>&1")
    }
}

extension Fixtures {
    /// Replaces the fixture's marker in place (partition 2 edited with debugfs), so a new
    /// capture differs from the old one by a few blocks only.
    public static func changeMarker(of image: String, to marker: String) throws {
        let dir = TempDir("marker")
        let script = """
            set -e
            start=$(sfdisk -d '\(image)' | awk -F'[=,]' '/start=/{n++; if (n==2) print $2+0}')
            size=$(sfdisk -d '\(image)' | awk -F'[=,]' '/start=/{n++; if (n==2) print $4+0}')
            dd if='\(image)' of='\(dir.file("p2"))' bs=512 skip=$start count=$size status=none
            printf '%s' '\(marker)' > '\(dir.file("m"))'
            debugfs -w -R 'rm marker.txt' '\(dir.file("p2"))' >/dev/null 2>&1
            debugfs -w -R 'write \(dir.file("m")) marker.txt' '\(dir.file("p2"))' >/dev/null
            dd if='\(dir.file("p2"))' of='\(image)' bs=512 seek=$start conv=notrunc,sparse status=none
            """
        let r = shell(script)
        guard r.status == 0 else { throw CLIError(message: "changing the marker failed: \(r.output)") }
    }
}
