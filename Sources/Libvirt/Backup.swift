internal import CLibvirt

/// One disk of a push-mode backup: the domain's disk (its target name, e.g. `vda`) copied by qemu
/// to a new file of the given format.
public struct BackupTarget: Hashable, Sendable {
    /// The disk's target device name in the domain XML (`<target dev='vda'/>`).
    public var disk: String
    /// The file qemu creates and writes; its folder must be reachable by the qemu user.
    public var file: String
    /// `raw` or `qcow2`.
    public var format: String

    public init(disk: String, file: String, format: String = "raw") {
        self.disk = disk
        self.file = file
        self.format = format
    }
}

/// A push-mode backup: qemu copies a point-in-time image of each listed disk of a running domain
/// into its target file while the guest keeps running (copy-before-write, so the copy is consistent
/// as of the start of the job). Disks not listed are excluded. This is pure: `xml` is the
/// `<domainbackup>` document given to `Domain.beginBackup`.
public struct PushBackup: Hashable, Sendable {
    public var targets: [BackupTarget]
    /// Disks of the domain to leave out; libvirt backs up every disk it can unless told otherwise.
    public var excluded: [String]

    public init(targets: [BackupTarget], excluded: [String] = []) {
        self.targets = targets
        self.excluded = excluded
    }

    /// The `<domainbackup mode='push'>` document (libvirt's formatbackup).
    public var xml: String {
        var lines = ["<domainbackup mode='push'>", "  <disks>"]
        for target in targets {
            lines.append("    <disk name='\(XMLText.escape(target.disk))' backup='yes' type='file'>")
            lines.append("      <driver type='\(XMLText.escape(target.format))'/>")
            lines.append("      <target file='\(XMLText.escape(target.file))'/>")
            lines.append("    </disk>")
        }
        for disk in excluded {
            lines.append("    <disk name='\(XMLText.escape(disk))' backup='no'/>")
        }
        lines += ["  </disks>", "</domainbackup>"]
        return lines.joined(separator: "\n") + "\n"
    }
}

/// Escaping for text placed in XML attributes and elements.
enum XMLText {
    static func escape(_ text: String) -> String {
        var out = ""
        for c in text {
            switch c {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "'": out += "&apos;"
            case "\"": out += "&quot;"
            default: out.append(c)
            }
        }
        return out
    }
}

extension Domain {
    /// Starts a backup job; returns as soon as qemu has begun copying. Wait for it with
    /// `waitForJob` (or use `backup`, which does both).
    /// The corresponding C function is `virDomainBackupBegin`.
    public func beginBackup(_ backup: PushBackup) throws(LibvirtError) {
        try check(virDomainBackupBegin(pointer, backup.xml, nil, 0), "virDomainBackupBegin", site)
    }

    /// Runs a push-mode backup to completion: the target files then hold the disks as they were
    /// when the job started. On timeout or cancellation the job is aborted.
    public func backup(_ backup: PushBackup, pollInterval: Duration = .milliseconds(100),
                       timeout: Duration? = nil) async throws -> JobStats {
        try beginBackup(backup)
        return try await waitForJob(operation: .backup, pollInterval: pollInterval, timeout: timeout)
    }
}
