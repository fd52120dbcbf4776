import Foundation
import Testing
import TestSupport

@Suite("CLI: capture, list, restore with the built binary")
struct CLIFlowTests {
    @Test func captureListRestoreByIdLatestAndTime() throws {
        let dir = TempDir("cli")
        let cli = CLI(store: dir.file("store"))
        let disk = dir.file("disk.img")
        try Disks.make(disk, size: 3_000_017, seed: 41)
        let first = try cli.capture("web1", disk)
        try Disks.copy(disk, dir.file("first.img"))
        Thread.sleep(forTimeInterval: 1.1)
        let middle = ISO8601DateFormatter().string(from: Date())
        Thread.sleep(forTimeInterval: 1.1)
        try Disks.mutate(disk, seed: 42, writes: 10)
        let second = try cli.capture("web1", disk)
        #expect(second > first)

        let machines = try cli.run(["machines", "--json"])
        #expect(machines.status == 0)
        let list = try JSONSerialization.jsonObject(with: Data(machines.stdout.utf8)) as? [[String: Any]]
        #expect(list?.first?["name"] as? String == "web1")
        #expect(list?.first?["points"] as? Int == 2)

        let points = try cli.run(["points", "web1", "--json"])
        let records = try JSONSerialization.jsonObject(with: Data(points.stdout.utf8)) as? [[String: Any]]
        #expect(records?.compactMap { $0["id"] as? Int } == [Int(first), Int(second)])
        #expect(records?.first?["diskSize"] as? Int == 3_000_017)
        let human = try cli.run(["points", "web1"])
        #expect(human.stdout.contains("ID") && human.stdout.contains("\n\(second) "))

        #expect(try cli.run(["restore", "web1", dir.file("latest.img")]).status == 0)
        #expect(Disks.equal(dir.file("latest.img"), disk))
        #expect(try cli.run(["restore", "web1", dir.file("byid.img"), "--point", String(first)]).status == 0)
        #expect(Disks.equal(dir.file("byid.img"), dir.file("first.img")))
        #expect(try cli.run(["restore", "web1", dir.file("bytime.img"), "--point", "@" + middle]).status == 0)
        #expect(Disks.equal(dir.file("bytime.img"), dir.file("first.img")))

        let json = try cli.run(["restore", "web1", dir.file("latest.img"), "--force", "--json"])
        #expect(json.status == 0)
        #expect(json.stdout.contains("\"point\" : \(second)"))
        let verify = try cli.run(["verify", "--chunks"])
        #expect(verify.status == 0, "\(verify.output)")
    }

    @Test func storeComesFromTheEnvironment() throws {
        let dir = TempDir("env")
        let disk = dir.file("disk.img")
        try Disks.make(disk, size: 1 << 20, seed: 43)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: CLI.binary)
        process.arguments = ["capture", "m", disk]
        process.environment = ["UNDERSTUDY_STORE": dir.file("envstore")]
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        #expect(process.terminationStatus == 0)
        #expect(FileManager.default.fileExists(atPath: dir.file("envstore/store.json")))
    }
}
