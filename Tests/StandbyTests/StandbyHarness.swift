import Foundation
import Testing
import TestSupport

/// A captured bootable "server" disk with a small hardware profile, ready for standby tests.
struct StandbyHarness {
    let dir: TempDir
    let cli: CLI
    let machine: String
    let disk: String
    let firstPoint: Int64

    /// `firmware`: "bios" or "uefi"; the fixture disk and the machine's hardware profile both use it.
    /// `agent`, `listen`: see `Fixtures.bootDisk`.
    init(_ label: String, marker: String, stay: Bool = false, sizeMiB: Int = 64, firmware: String = "bios", memoryMiB: Int = 256,
         agent: Bool = false, listen: (port: Int, delay: Int)? = nil) throws {
        dir = TempDir(label)
        cli = CLI(store: dir.file("store"))
        machine = "us-\(label)-\(UUID().uuidString.prefix(6).lowercased())"
        disk = dir.file("server.img")
        try Fixtures.bootDisk(at: disk, marker: marker, sizeMiB: sizeMiB, stay: stay, firmware: firmware, agent: agent, listen: listen)
        firstPoint = try cli.capture(machine, disk)
        var set = ["machine", "set", machine, "--cpus", "1", "--memory", String(memoryMiB)]
        if firmware != "bios" { set += ["--firmware", firmware] }
        let profile = try cli.run(set)
        try #require(profile.status == 0, "\(profile.output)")
    }

    var serialLog: String { dir.file("store/standby/\(machine)/serial.log") }

    func console() -> String { (try? String(contentsOfFile: serialLog, encoding: .utf8)) ?? "" }

    func removeDomain() { Libvirtd.remove(machine) }

    /// `machine set` with more options; requires success.
    func set(_ options: [String]) throws {
        let r = try cli.run(["machine", "set", machine] + options)
        try #require(r.status == 0, "\(r.output)")
    }
}
