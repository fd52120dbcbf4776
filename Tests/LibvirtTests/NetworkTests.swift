import Libvirt
import Testing

@Suite("Libvirt: isolated networks", .timeLimit(.minutes(1)))
struct NetworkTests {
    @Test("define, start, destroy, undefine an isolated network")
    func persistentLifecycle() throws {
        let connection = try LibvirtDaemon.connect()
        let name = Scratch.name("net")
        try Scratch.cleaningNetwork(connection, name: name) {
            let network = try connection.defineNetwork(xml: Scratch.isolatedNetworkXML(name: name))
            #expect(network.name == name)
            #expect(try network.isPersistent())
            #expect(try !network.isActive())
            #expect(try network.uuid().count == 36)
            try network.start()
            #expect(try network.isActive())
            let xml = try network.xmlDescription()
            #expect(!xml.contains("<forward"), "isolated: \(xml)")
            #expect(xml.contains("<bridge"))
            #expect(try connection.networks().contains { $0.name == name })
            try network.destroy()
            #expect(try !network.isActive())
            try network.undefine()
            #expect(try connection.network(named: name) == nil)
        }
    }

    @Test("a transient network disappears when destroyed")
    func transient() throws {
        let connection = try LibvirtDaemon.connect()
        let name = Scratch.name("tnet")
        try Scratch.cleaningNetwork(connection, name: name) {
            let network = try connection.createNetwork(xml: Scratch.isolatedNetworkXML(name: name))
            #expect(try network.isActive())
            #expect(try !network.isPersistent())
            try network.destroy()
            #expect(try connection.network(named: name) == nil)
            let error = try #require(throws: LibvirtError.self) { try network.start() }
            #expect(error.code == .noNetwork, "\(error)")
        }
    }
}
