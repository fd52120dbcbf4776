import Foundation
import Libvirt
import Standby
import Testing
import TestSupport

/// `GuestWatch` against a real libvirt domain (TCG, no bootable disk: SeaBIOS prints its
/// message once and then nothing changes for a minute — a stand-in for a guest a hanging KVM
/// never runs).
@Suite("Standby: watching a starting guest with real libvirt", .serialized,
       .enabled(if: Libvirtd.available, "needs a running libvirtd (scripts/install-deps.sh; the tests start libvirtd)"))
struct GuestWatchTests {
    static func domainXML(_ name: String, serialLog: String) -> String {
        """
        <domain type='qemu'>
          <name>\(name)</name>
          <memory unit='MiB'>32</memory>
          <vcpu>1</vcpu>
          <os><type arch='x86_64' machine='pc'>hvm</type><boot dev='hd'/></os>
          <devices>
            <serial type='pty'><log file='\(serialLog)' append='off'/><target port='0'/></serial>
            <graphics type='vnc' autoport='yes' listen='127.0.0.1'/>
            <video><model type='vga'/></video>
          </devices>
        </domain>
        """
    }

    @Test func pausesByUsersAreWaitedOutPausesByQemuAndStallsAreFaults() throws {
        let dir = TempDir("watch")
        let name = "understudy-watch-\(UUID().uuidString.prefix(8).lowercased())"
        let log = dir.file("serial.log")
        let connection = try Connection(uri: "qemu:///system")
        let domain = try connection.createDomain(xml: Self.domainXML(name, serialLog: log))
        defer { try? domain.destroy() }

        let plain = GuestWatch(domain: domain, serialLog: log)
        #expect(try plain.check(), "a running guest")
        try domain.suspend()
        #expect(try plain.check(), "a pause by a user is waited out")
        try domain.resume()

        // Nothing changes on console or screen once SeaBIOS has given up: a stall.
        let watch = GuestWatch(domain: domain, serialLog: log, stallSeconds: 6, sampleSeconds: 1)
        let started = Date()
        var stalled: GuestFailure?
        while stalled == nil, Date().timeIntervalSince(started) < 60 {
            do { _ = try watch.check() } catch let failure as GuestFailure { stalled = failure }
            Thread.sleep(forTimeInterval: 0.2)
        }
        let stall = try #require(stalled, "no stall seen in 60 s")
        #expect(stall.acceleratorSuspect && stall.message.contains("made no progress"), "\(stall)")
        #expect(Date().timeIntervalSince(started) >= 6)

        // qemu stopping the guest itself (as on a KVM internal error): libvirt says paused (unknown).
        _ = try domain.humanMonitorCommand("stop")
        let paused = #expect(throws: GuestFailure.self) { try plain.check() }
        #expect(paused?.acceleratorSuspect == true && paused?.message.contains("qemu paused the guest") == true, "\(String(describing: paused))")

        try domain.destroy()
        #expect(try plain.check() == false, "a guest that is gone has stopped")
    }
}
