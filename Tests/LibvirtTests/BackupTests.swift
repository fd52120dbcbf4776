import Foundation
import Libvirt
import Testing
import TestSupport

@Suite("Libvirt: consistent capture of a running domain (push backup)", .timeLimit(.minutes(2)))
struct BackupTests {
    @Test("the backup document is the XML libvirt documents, escaped")
    func backupXML() {
        let backup = PushBackup(targets: [BackupTarget(disk: "vda", file: "/srv/a&b/vda.qcow2", format: "qcow2")],
                                excluded: ["vdb"])
        #expect(backup.xml == """
            <domainbackup mode='push'>
              <disks>
                <disk name='vda' backup='yes' type='file'>
                  <driver type='qcow2'/>
                  <target file='/srv/a&amp;b/vda.qcow2'/>
                </disk>
                <disk name='vdb' backup='no'/>
              </disks>
            </domainbackup>

            """)
    }

    /// 16 MiB with a stamped pattern every 64 KiB and untouched (zero) holes between, so both
    /// data and sparse regions are compared. The first sector has no boot signature.
    static func makeDisk(_ path: String) throws {
        let size = 16 << 20
        var bytes = [UInt8](repeating: 0, count: size)
        for block in stride(from: 0, to: size, by: 64 << 10) where (block >> 16) % 3 != 2 {
            let stamp = Array("understudy block \(block >> 16)\n".utf8)
            for i in 0..<(8 << 10) { bytes[block + i] = stamp[i % stamp.count] &+ UInt8(truncatingIfNeeded: i >> 9) }
        }
        try Data(bytes).write(to: URL(fileURLWithPath: path))
    }

    @Test("a push backup of a running domain equals its disk, as raw and as qcow2", arguments: ["raw", "qcow2"])
    func backupRunningDomain(format: String) async throws {
        let connection = try LibvirtDaemon.connect()
        let folder = TempDir("lv-backup")
        let disk = folder.file("disk.raw")
        try Self.makeDisk(disk)
        let name = Scratch.name("bk-\(format)")
        let xml = Scratch.domainXML(name: name, serialLog: folder.file("serial.log"), rawDisk: disk)
        try await Scratch.withDomain(connection, xml: xml) { domain in
            try domain.start()
            #expect(try domain.state() == .running)
            let target = folder.file("backup.\(format)")
            let stats = try await domain.backup(
                PushBackup(targets: [BackupTarget(disk: "vda", file: target, format: format)]),
                timeout: .seconds(60))
            #expect(stats.type == .completed)
            #expect(stats.operation == .backup)
            #expect(try domain.state() == .running, "the guest kept running")
            #expect(try domain.jobStats().type == .none)
            let (same, output) = QemuImg.same(target, format: format, as: disk)
            #expect(same, "qemu-img compare: \(output)")
            #expect(QemuImg.virtualSize(target, format: format) == 16 << 20)
        }
    }

    @Test("backing up a domain that is not running is a precise error")
    func backupNeedsRunningDomain() async throws {
        let connection = try LibvirtDaemon.connect()
        let folder = TempDir("lv-backup-off")
        let disk = folder.file("disk.raw")
        try Self.makeDisk(disk)
        let name = Scratch.name("bk-off")
        let xml = Scratch.domainXML(name: name, serialLog: folder.file("serial.log"), rawDisk: disk)
        try await Scratch.withDomain(connection, xml: xml) { domain in
            let backup = PushBackup(targets: [BackupTarget(disk: "vda", file: folder.file("b.raw"))])
            let error = try #require(throws: LibvirtError.self) { try domain.beginBackup(backup) }
            #expect(error.code == .operationUnsupported, "\(error)")
            #expect(error.operation == "virDomainBackupBegin")
        }
    }
}
