import Foundation
import Testing
import TestSupport

@Suite("Rescue: https and the interactive menus", .serialized)
struct RescueTLSAndMenuTests {
    @Test("with a certificate the server speaks https; the client trusts it only when told to")
    func tls() throws {
        let h = RescueHarness()
        try h.capture(size: 6 * 1048576 + 512, seed: 520)
        try h.makeToken()
        let cert = h.dir.file("cert.pem"), key = h.dir.file("key.pem")
        let made = shell("openssl req -x509 -newkey rsa:2048 -nodes -keyout \(key) -out \(cert) -days 2 -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 2>&1")
        try #require(made.status == 0, "\(made.output)")
        try h.startServer(extra: ["--tls-cert", cert, "--tls-key", key])
        #expect(h.url.hasPrefix("https://"))
        let target = h.dir.file("t.img")
        let untrusted = h.rescue(["--machine", "m", "--target", target])
        #expect(untrusted.status == 1 && untrusted.stderr.contains("TLS"), "\(untrusted.output)")
        print("untrusted: \(untrusted.stderr)")
        let trusted = h.rescue(["--machine", "m", "--target", target, "--ca-cert", cert])
        #expect(trusted.status == 0, "\(trusted.output)")
        #expect(Disks.equal(target, try h.localRestore()))
        // Plain http to the https port fails clearly, and a key without a certificate is refused.
        let half = try h.cli.run(["serve", "--listen", "127.0.0.1:0", "--tls-key", key, "--duration", "1"])
        #expect(half.status == 2 && half.stderr.contains("both --tls-cert and --tls-key"), "\(half.output)")
    }

    @Test("without --machine the client lists machines, points and disks, and restores what is picked")
    func interactive() throws {
        let h = RescueHarness()
        try h.capture(size: 3 * 1048576, seed: 521, machine: "db01")
        let second = try h.capture(size: 3 * 1048576, seed: 522, machine: "web01")
        try h.makeToken()
        try h.startServer()
        let target = h.dir.file("picked.img")
        // Machine 2 (web01), point 1 (newest), disk 0 = type a path, the path, then YES.
        let r = h.rescue([], input: "2\n\n0\n\(target)\nYES\n")
        #expect(r.status == 0, "\(r.output)")
        #expect(r.stderr.contains("db01") && r.stderr.contains("web01") && r.stderr.contains("point \(second)"), "\(r.stderr)")
        #expect(Disks.equal(target, try h.localRestore("web01")))
        // Anything but YES writes nothing.
        let other = h.dir.file("declined.img")
        let no = h.rescue([], input: "1\n\n0\n\(other)\nno\n")
        #expect(no.status == 1 && no.stderr.contains("not YES"))
        #expect(!FileManager.default.fileExists(atPath: other))
    }
}
