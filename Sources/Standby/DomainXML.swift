import BlockStore
public import Foundation

/// Everything a standby domain's XML says, in one value: rendered by a pure function, defined
/// in libvirt separately (so the XML is tested as text).
public struct DomainSpec: Sendable, Equatable {
    public var name: String
    public var machine: String
    public var point: Int64
    public var pointTime: Date
    public var built: Date
    /// The base image's format (our name) and path; the domain boots from `overlay`.
    public var format: String
    public var image: String
    public var overlay: String
    public var serialLog: String
    public var kvm: Bool
    public var profile: HardwareProfile
    /// UEFI: the per-VM variable store.
    public var nvram: String?
    /// The existing domain's UUID when redefining it.
    public var uuid: String?
    public var emulator = "/usr/bin/qemu-system-x86_64"
    public var loader = "/usr/share/OVMF/OVMF_CODE.fd"
    public var nvramTemplate = "/usr/share/OVMF/OVMF_VARS.fd"

    public init(name: String, machine: String, point: Int64, pointTime: Date, built: Date, format: String, image: String,
                overlay: String, serialLog: String, kvm: Bool, profile: HardwareProfile, nvram: String? = nil) {
        self.name = name; self.machine = machine; self.point = point; self.pointTime = pointTime; self.built = built
        self.format = format; self.image = image; self.overlay = overlay; self.serialLog = serialLog
        self.kvm = kvm; self.profile = profile; self.nvram = nvram
    }
}

public enum DomainXML {
    /// qemu's device for each NIC model, for user-mode networking (given to qemu directly).
    static let qemuNICDevice = ["virtio": "virtio-net-pci", "e1000": "e1000", "e1000e": "e1000e", "rtl8139": "rtl8139"]

    /// The libvirt domain XML of a standby.
    public static func render(_ spec: DomainSpec, templates: Templates) throws -> String {
        try templates.render("domain.xml", context(spec))
    }

    static func context(_ s: DomainSpec) -> [String: Any] {
        let iso = ISO8601DateFormatter()
        let p = s.profile
        let targetDev = switch p.diskBus {
        case .virtio: "vda"
        case .ide: "hda"
        case .sata, .scsi: "sda"
        }
        var c: [String: Any] = [
            "domainType": s.kvm ? "kvm" : "qemu", "kvm": s.kvm,
            "name": s.name, "machine": s.machine, "point": String(s.point),
            "pointTime": iso.string(from: s.pointTime), "built": iso.string(from: s.built),
            "format": s.format, "image": s.image, "overlay": s.overlay, "serialLog": s.serialLog,
            "memoryMiB": String(p.memoryMiB), "cpus": String(p.cpus),
            "emulator": s.emulator, "targetDev": targetDev, "bus": p.diskBus.rawValue, "scsi": p.diskBus == .scsi,
            "nicModel": p.nicModel,
        ]
        if p.firmware == .uefi {
            c["uefi"] = ["loader": s.loader, "nvramTemplate": s.nvramTemplate, "nvram": s.nvram ?? ""]
        }
        if let uuid = s.uuid { c["uuid"] = uuid }
        if p.network == HardwareProfile.userNetwork {
            var n: [String: Any] = [
                "device": qemuNICDevice[p.nicModel] ?? p.nicModel,
                "forwards": p.forwards.map { ["hostPort": String($0.hostPort), "guestPort": String($0.guestPort)] },
            ]
            if let mac = p.mac { n["mac"] = mac }
            c["userNetwork"] = n
        } else if let network = p.network {
            var n: [String: Any] = ["network": network]
            if let mac = p.mac { n["mac"] = mac }
            c["network"] = n
        }
        return c
    }
}
