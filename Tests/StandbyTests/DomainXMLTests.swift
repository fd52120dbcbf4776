import BlockStore
import Foundation
import Standby
import Testing
import TestSupport
import Core

@Suite("Standby: domain XML is a pure function, checked as text and by libvirt's schema")
struct DomainXMLTests {
    static let snapshots = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Snapshots").path

    static func spec(_ configure: (inout HardwareProfile) -> Void, kvm: Bool = false) -> DomainSpec {
        var profile = HardwareProfile()
        configure(&profile)
        let time = Date(timeIntervalSince1970: 1_795_000_000)
        return DomainSpec(name: "web1", machine: "web1", point: 42, pointTime: time, built: time.addingTimeInterval(60),
                          format: "qcow2", image: "/var/lib/understudy/standby/web1/web1.qcow2",
                          overlay: "/var/lib/understudy/standby/web1/overlay.qcow2",
                          serialLog: "/var/lib/understudy/standby/web1/serial.log", kvm: kvm, profile: profile,
                          nvram: profile.firmware == .uefi ? "/var/lib/understudy/standby/web1/nvram.fd" : nil)
    }

    static let cases: [(String, DomainSpec)] = [
        ("bios-virtio-tcg", spec { _ in }),
        ("uefi-sata-network-kvm", spec({ p in
            p.firmware = .uefi; p.diskBus = .sata; p.network = "standby-net"; p.mac = "52:54:00:ab:cd:ef"
            p.nicModel = "e1000e"; p.cpus = 4; p.memoryMiB = 8192
        }, kvm: true)),
        ("bios-ide", spec { p in p.diskBus = .ide }),
        ("bios-scsi", spec { p in p.diskBus = .scsi; p.network = "default" }),
        ("bios-user-forwards", spec { p in
            p.network = HardwareProfile.userNetwork; p.nicModel = "e1000"; p.mac = "52:54:00:ab:cd:01"
            p.forwards = [.init(hostPort: 18080, guestPort: 80), .init(hostPort: 10022, guestPort: 22)]
        }),
    ]

    @Test(arguments: cases.map(\.0))
    func renderedXMLMatchesItsSnapshotAndLibvirtsSchema(_ name: String) throws {
        let spec = try #require(Self.cases.first { $0.0 == name }?.1)
        let xml = try DomainXML.render(spec, templates: Templates())
        let snapshot = Self.snapshots + "/domain-\(name).xml"
        if ProcessInfo.processInfo.environment["UNDERSTUDY_UPDATE_GOLDEN"] == "1" {
            try xml.write(toFile: snapshot, atomically: true, encoding: .utf8)
        }
        let expected = try String(contentsOfFile: snapshot, encoding: .utf8)
        #expect(xml == expected, "domain XML changed; regenerate with UNDERSTUDY_UPDATE_GOLDEN=1 if intended")
        let dir = TempDir("xml")
        try xml.write(toFile: dir.file("d.xml"), atomically: true, encoding: .utf8)
        let valid = shell("virt-xml-validate \(dir.file("d.xml")) domain")
        #expect(valid.status == 0, "\(valid.output)")
    }

    @Test func namesAreEscaped() throws {
        var spec = Self.spec { _ in }
        spec.image = "/srv/a&b/<x>'y'.qcow2"
        let xml = try DomainXML.render(spec, templates: Templates())
        #expect(xml.contains("/srv/a&amp;b/&lt;x&gt;&#39;y&#39;.qcow2"))
        #expect(!xml.contains("a&b"))
    }

    @Test func profileValidationNamesTheBadValue() {
        var p = HardwareProfile()
        p.mac = "52:54:00:zz:00:01"
        #expect(throws: UnderstudyError.self) { try p.validate() }
        p = HardwareProfile()
        p.nicModel = "ne2k"
        #expect((try? p.validate()) == nil)
        p = HardwareProfile()
        p.readiness = .serial("login:(")
        #expect((try? p.validate()) == nil)
        #expect((try? HardwareProfile().validate()) != nil)
    }
}
