import Foundation
import Libvirt
import Testing

@Suite("Libvirt: connection", .timeLimit(.minutes(1)))
struct ConnectionTests {
    @Test("connects to qemu:///system and reads the versions")
    func connectAndVersion() throws {
        let connection = try LibvirtDaemon.connect()
        #expect(connection.uri == "qemu:///system")
        #expect(connection.isAlive)
        let library = try connection.libraryVersion()
        let qemu = try connection.hypervisorVersion()
        #expect(library >= Version(major: 6, minor: 0, release: 0), "backup jobs need libvirt 6.0+")
        #expect(qemu.major >= 4)
        #expect(try !connection.hostname().isEmpty)
    }

    @Test("an unreachable daemon gives an error naming the URI and how to start libvirtd")
    func unreachableDaemon() throws {
        let uri = "qemu:///system?socket=/nonexistent/libvirt-sock"
        let error = try #require(throws: LibvirtError.self) { try Connection(uri: uri) }
        #expect(error.operation == "virConnectOpen")
        #expect(error.uri == uri)
        #expect(error.code == .systemError)
        #expect(error.domain == .rpc)
        let text = error.description
        #expect(text.contains(uri))
        #expect(text.contains("virtlogd -d; libvirtd -d"))
        #expect(text.contains("/nonexistent/libvirt-sock"), "libvirt's own message is kept: \(text)")
    }

    @Test("an unknown driver is an error without the daemon hint")
    func unknownDriver() throws {
        _ = try LibvirtDaemon.connect()  // the client asks the daemon about drivers it lacks
        let error = try #require(throws: LibvirtError.self) { try Connection(uri: "nosuchdriver:///x") }
        #expect(error.code == .noConnect || error.code == .noSupport, "\(error)")
        #expect(error.uri == "nosuchdriver:///x")
    }

    @Test("looking up a missing domain or network is nil, not an error")
    func missingObjects() throws {
        let connection = try LibvirtDaemon.connect()
        #expect(try connection.domain(named: Scratch.name("absent")) == nil)
        #expect(try connection.domain(uuid: UUID().uuidString) == nil)
        #expect(try connection.network(named: Scratch.name("absent")) == nil)
    }

    @Test("bad domain XML is an XML error that names the call")
    func badXML() throws {
        let connection = try LibvirtDaemon.connect()
        let error = try #require(throws: LibvirtError.self) { try connection.defineDomain(xml: "<domain type='qemu'><name>x") }
        #expect(error.operation == "virDomainDefineXML")
        #expect(error.code == .xmlError || error.code == .xmlDetail, "\(error)")
    }
}
