import Foundation
import Libvirt
import Testing
import TestSupport

/// What libvirt tells about a running guest: its clock through qemu-guest-agent, its addresses,
/// and qemu's own monitor. A busybox guest running Debian's qemu-ga, under TCG.
/// Synchronous on purpose: these tests poll in real time.
@Suite("Libvirt: guest agent, addresses and monitor of a running guest", .serialized,
       .enabled(if: Fixtures.agentAvailable && Libvirtd.available, "needs qemu, qemu-guest-agent, the fixture tools and a running libvirtd"))
struct GuestQueriesTests {
    static func xml(name: String, disk: String, serialLog: String, agentChannel: Bool) -> String {
        """
        <domain type='qemu'>
          <name>\(name)</name>
          <memory unit='MiB'>256</memory>
          <vcpu>1</vcpu>
          <os><type arch='x86_64' machine='pc'>hvm</type><boot dev='hd'/></os>
          <devices>
            <emulator>/usr/bin/qemu-system-x86_64</emulator>
            <disk type='file' device='disk'>
              <driver name='qemu' type='raw'/><source file='\(disk)'/><target dev='vda' bus='virtio'/>
            </disk>
            \(agentChannel ? "<channel type='unix'><target type='virtio' name='org.qemu.guest_agent.0'/></channel>" : "")
            <serial type='file'><source path='\(serialLog)'/><target port='0'/></serial>
            <memballoon model='none'/>
          </devices>
        </domain>
        """
    }

    @Test func agentAnswersOnceTheGuestRunsIt() throws {
        let dir = TempDir("agent")
        let disk = dir.file("agent.img")
        // listen=: the guest configures lo (and would run DHCP on NICs; this domain has none)
        try Fixtures.bootDisk(at: disk, marker: "agent", stay: true, agent: true, listen: (8080, 0))
        let connection = try Connection(uri: Libvirtd.uri)
        let domain = try connection.createDomain(xml: Self.xml(name: Scratch.name("agent"), disk: disk, serialLog: dir.file("serial.log"), agentChannel: true))
        defer { try? domain.remove() }

        // right after start nothing listens on the channel yet: libvirt says so at once
        let early = Date()
        #expect(throws: LibvirtError.self) { _ = try domain.guestTime() }
        do { _ = try domain.guestTime() } catch { #expect(error.code == .agentUnresponsive, "\(error)") }
        #expect(Date().timeIntervalSince(early) < 5)

        var answer: (seconds: Int64, nanoseconds: UInt32)?
        _ = Scratch.eventually(120) {
            answer = try? domain.guestTime()
            return answer != nil
        }
        let time = try #require(answer, "the agent never answered; console: \((try? String(contentsOfFile: dir.file("serial.log"), encoding: .utf8)) ?? "")")
        // the guest's clock starts from the host's (the RTC): within a day of it
        #expect(abs(Double(time.seconds) - Date().timeIntervalSince1970) < 86_400)

        // the agent lists the guest's interfaces: this guest has only lo, 127.0.0.1/8 once configured
        var interfaces: [GuestInterface] = []
        let configured = Scratch.eventually(30) {
            interfaces = (try? domain.interfaceAddresses(from: .agent)) ?? []
            return interfaces.contains { $0.addresses.contains { $0.address == "127.0.0.1" } }
        }
        #expect(configured, "\(interfaces)")
        #expect(interfaces.map(\.name) == ["lo"], "\(interfaces)")
        #expect(interfaces.first?.mac == "00:00:00:00:00:00")
        #expect(interfaces.first?.addresses.contains { $0.address == "127.0.0.1" && $0.prefix == 8 && !$0.isIPv6 } == true, "\(interfaces)")
        #expect(try domain.humanMonitorCommand("info status").contains("running"))
    }

    @Test func aDomainWithoutTheChannelSaysSoAtOnce() throws {
        let dir = TempDir("noagent")
        let disk = dir.file("plain.img")
        try Fixtures.bootDisk(at: disk, marker: "plain", stay: true)
        let connection = try Connection(uri: Libvirtd.uri)
        let domain = try connection.createDomain(xml: Self.xml(name: Scratch.name("noagent"), disk: disk, serialLog: dir.file("serial.log"), agentChannel: false))
        defer { try? domain.remove() }
        do {
            _ = try domain.guestTime()
            Issue.record("a guest without an agent channel told its time")
        } catch {
            #expect(error.code == .argumentUnsupported, "\(error)")
        }
        // no libvirt network: no lease source knows anything
        #expect((try? domain.interfaceAddresses(from: .lease))?.flatMap(\.addresses).isEmpty ?? true)
    }
}
