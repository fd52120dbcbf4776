import Foundation
import Libvirt
import Testing
import TestSupport

@Suite("Libvirt: domains", .timeLimit(.minutes(2)))
struct DomainTests {
    @Test("define a TCG domain, start it, screenshot it, destroy and undefine it")
    func lifecycleAndScreenshot() async throws {
        let connection = try LibvirtDaemon.connect()
        let folder = TempDir("lv-domain")
        let name = Scratch.name("dom")
        let serial = folder.file("serial.log")
        let xml = Scratch.domainXML(name: name, serialLog: serial)
        try await Scratch.withDomain(connection, xml: xml) { domain in
            #expect(domain.name == name)
            #expect(try domain.isPersistent())
            #expect(try domain.state() == .shutOff)
            #expect(try domain.uuid().count == 36)
            #expect(try connection.domain(uuid: domain.uuid())?.name == name)
            #expect(try connection.domains().contains { $0.name == name })
            #expect(try domain.xmlDescription(.inactive).contains("type='qemu'"))

            try domain.start()
            #expect(try domain.state() == .running)
            #expect(try domain.isActive())
            #expect(FileManager.default.fileExists(atPath: serial), "the serial console is logged to our file")
            #expect(try domain.xmlDescription().contains("<graphics type='vnc'"))

            let shot = try domain.screenshot()
            #expect(!shot.bytes.isEmpty)
            #expect(shot.mimeType.hasPrefix("image/"), "\(shot.mimeType)")
            let png = try shot.pngBytes()
            let file = folder.file("screen.png")
            try Data(png).write(to: URL(fileURLWithPath: file))
            #expect(PNGCheck.fileSays(file).contains("PNG image data"), "\(PNGCheck.fileSays(file))")
            #expect(PNGCheck.pythonValidates(file))

            // A PPM straight from qemu's screendump (its native format), converted by our encoder.
            let ppm = try PNGCheck.qemuScreendumpPPM(domain: name)
            let image = try RGBImage(ppm: ppm)
            #expect(image.width >= 320 && image.height >= 200)
            let converted = try Screenshot(bytes: ppm, mimeType: "image/x-portable-pixmap").pngBytes()
            let convertedFile = folder.file("screendump.png")
            try Data(converted).write(to: URL(fileURLWithPath: convertedFile))
            #expect(PNGCheck.fileSays(convertedFile).contains("PNG image data, \(image.width) x \(image.height), 8-bit/color RGB"))
            #expect(PNGCheck.pythonDecodes(convertedFile) == image.pixels, "the PNG holds exactly qemu's pixels")

            try domain.destroy()
            #expect(try domain.state() == .shutOff)
            try domain.undefine(.all)
            #expect(try connection.domain(named: name) == nil)
        }
    }

    @Test("a transient domain starts at once and vanishes when destroyed")
    func transientDomain() async throws {
        let connection = try LibvirtDaemon.connect()
        let folder = TempDir("lv-transient")
        let name = Scratch.name("tdom")
        let domain = try connection.createDomain(xml: Scratch.domainXML(name: name, serialLog: folder.file("serial.log")))
        defer { try? domain.remove() }
        #expect(try domain.state() == .running)
        #expect(try !domain.isPersistent())
        try domain.suspend()
        #expect(try domain.state() == .paused)
        try domain.resume()
        #expect(try domain.state() == .running)
        try domain.destroy()
        #expect(try connection.domain(named: name) == nil)
        let error = try #require(throws: LibvirtError.self) { try domain.start() }
        #expect(error.code == .noDomain, "\(error)")
        #expect(error.object == name)
    }

    @Test("metadata in our namespace round-trips, survives redefinition, and can be removed")
    func metadataRoundTrip() async throws {
        let connection = try LibvirtDaemon.connect()
        let folder = TempDir("lv-meta")
        let name = Scratch.name("meta")
        let xml = Scratch.domainXML(name: name, serialLog: folder.file("serial.log"))
        try await Scratch.withDomain(connection, xml: xml) { domain in
            #expect(try domain.metadata() == nil)
            let element = "<standby machine=\"web1\" point=\"42\"><format>qcow2</format></standby>"
            try domain.setMetadata(element)
            let text = try #require(try domain.metadata())
            #expect(text.contains("machine=\"web1\""), "\(text)")
            #expect(text.contains("<format>qcow2</format>"))

            let full = try domain.xmlDescription(.inactive)
            #expect(full.contains("<understudy:standby"), "libvirt writes our prefix: \(full)")
            #expect(full.contains("xmlns:understudy=\"https://understudy.dev/xmlns/standby/1\""))

            // Redefining from the dumped XML keeps it (it is part of the persistent definition).
            let again = try connection.defineDomain(xml: full)
            #expect(try again.metadata()?.contains("point=\"42\"") == true)

            // Another namespace is independent of ours.
            let other = MetadataNamespace(uri: "https://example.invalid/other/1", prefix: "other")
            try domain.setMetadata("<x/>", in: other)
            #expect(try domain.metadata(in: other) != nil)
            #expect(try domain.metadata()?.contains("web1") == true)

            try domain.setMetadata(nil)
            #expect(try domain.metadata() == nil)
            #expect(try domain.metadata(in: other) != nil)
        }
    }
}
