import BlockStore
import DiskImage
import Foundation
import Libvirt
public import Core

extension StandbyBuilder {
    public static let isolatedNetwork = "understudy-isolated"

    /// Boots a disposable copy of the standby (its own overlay, a transient domain, an isolated
    /// network with no uplink, a random MAC), waits for readiness, saves a screenshot, records
    /// the result and destroys the copy. Production and the standby itself are never touched.
    /// On failure `onFailure` runs with UNDERSTUDY_* variables describing it, then this throws.
    public func verify(machine: String, connect: String? = nil, timeout: Double = 300, onFailure: String? = nil,
                       progress: any ProgressReporter = SilentProgress()) throws -> BootTest {
        let started = Date()
        let record = try currentStandby(machine)
        var profile = try catalog.profile(machine)
        let paths = try StandbyPaths(store: store, machine: machine)
        let conn = try Hypervisor.connect(connect ?? record.connect)
        let id = String(UUID().uuidString.prefix(8)).lowercased()
        let overlay = paths.folder + "/verify-\(id).qcow2"
        let log = paths.folder + "/verify-\(id).log"
        let nvram = paths.folder + "/verify-\(id)-nvram.fd"
        if profile.network == HardwareProfile.userNetwork {
            // Already isolated (restrict=on); fresh loopback ports, since the standby itself may
            // be running with the profile's.
            profile.forwards = try profile.forwards.map { .init(hostPort: try TCPConnect.freeLoopbackPort(), guestPort: $0.guestPort) }
            profile.mac = Self.randomMAC()
        } else if profile.network != nil {
            try ensureIsolatedNetwork(conn)
            profile.network = Self.isolatedNetwork
            profile.mac = Self.randomMAC()
        }
        let portTarget = Result { try PortTarget.resolve(profile, forVerify: true) }  // a failure is this verify's result
        let point = try store.catalog.point(record.point)
        try QCOW2Format.createOverlay(at: overlay, backing: record.image, backingFormat: Self.qemuDriver(record.format),
                                      size: point?.diskSize ?? (ImageRecord.load(for: record.image)?.diskSize ?? 0))
        let spec = DomainSpec(name: "\(record.domain)-verify-\(id)", machine: machine, point: record.point, pointTime: record.pointTime,
                              built: record.built, format: record.format, image: record.image, overlay: overlay, serialLog: log,
                              kvm: false, profile: profile, nvram: profile.firmware == .uefi ? nvram : nil)
        let launcher = GuestLauncher(decision: Hypervisor.accelerator(for: profile, store: store.path), storePath: store.path,
                                     note: { progress.note($0) })
        var result = BootTest(machine: machine, kind: "verify", time: started, point: record.point, ok: false,
                              secondsToReady: nil, screenshot: nil, message: "")
        var domain: Domain?
        defer {
            if let domain { try? domain.destroy() }
            unlink(overlay)
            unlink(nvram)
        }
        do {
            let portTarget = try portTarget.get()
            let outcome = try launcher.run("a disposable copy of \(record.domain)", serialLog: log, start: { accelerator in
                var attempt = spec
                attempt.kvm = accelerator == .kvm
                let xml = try DomainXML.render(attempt, templates: Templates())
                unlink(log)
                let created = try Hypervisor.call("starting a disposable copy of \(record.domain)", { try conn.createDomain(xml: xml) })
                domain = created
                return created
            }, wait: { created, watch in
                let probe = ReadinessProbe(readiness: profile.readiness, serialLog: log, domain: created, portTarget: portTarget,
                                           timeout: timeout)
                _ = try probe.wait(isRunning: watch.check)
                return Date().timeIntervalSince(started)
            }, discard: { try? $0.destroy() })
            result.secondsToReady = outcome.value
            result.ok = true
            result.message = outcome.fallback.map { "ready after a restart under TCG: \($0)" } ?? "ready"
        } catch {
            result.message = (error as? UnderstudyError)?.message ?? "\(error)"
        }
        result.screenshot = try? saveScreenshot(domain, paths: paths, point: record.point)
        try catalog.addBootTest(result)
        if !result.ok {
            if let onFailure { Self.alert(onFailure, result, log: log) }
            throw UnderstudyError(.interrupted, "verify of \(machine) failed: \(result.message)" + (result.screenshot.map { "; screenshot \($0)" } ?? ""),
                             at: .init(machine: machine, point: record.point))
        }
        unlink(log)
        return result
    }

    private func saveScreenshot(_ domain: Domain?, paths: StandbyPaths, point: Int64) throws -> String? {
        guard let domain, try domain.isActive() else { return nil }
        let shot = try Hypervisor.call("taking a screenshot", { try domain.screenshot() })
        let png = try Hypervisor.call("encoding the screenshot", { try shot.pngBytes() })
        try FileSystem.makeDirectory(paths.screenshots)
        let stamp = ISO8601DateFormatter().string(from: Date()).replacingOccurrences(of: ":", with: "")
        let path = paths.screenshots + "/\(stamp)-point\(point).png"
        try FileSystem.writeAtomically(png, to: path)
        return path
    }

    private func ensureIsolatedNetwork(_ conn: Connection) throws {
        if let network = try Hypervisor.call("looking up network", { try conn.network(named: Self.isolatedNetwork) }) {
            if !(try Hypervisor.call("checking network", { try network.isActive() })) {
                try Hypervisor.call("starting network \(Self.isolatedNetwork)", { try network.start() })
            }
            return
        }
        let xml = try Templates().render("isolated-network.xml", ["name": Self.isolatedNetwork, "bridge": "usiso0"])
        let network = try Hypervisor.call("defining network \(Self.isolatedNetwork)", { try conn.defineNetwork(xml: xml) })
        try Hypervisor.call("starting network \(Self.isolatedNetwork)", { try network.start() })
    }

    static func randomMAC() -> String {
        "52:54:00:" + (0..<3).map { _ in String(format: "%02x", UInt8.random(in: 0...255)) }.joined(separator: ":")
    }

    /// Runs the alert command through /bin/sh with the failure in its environment.
    static func alert(_ command: String, _ test: BootTest, log: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", command]
        var env = ProcessInfo.processInfo.environment
        env["UNDERSTUDY_MACHINE"] = test.machine
        env["UNDERSTUDY_POINT"] = String(test.point)
        env["UNDERSTUDY_CHECK"] = test.kind
        env["UNDERSTUDY_REASON"] = test.message
        env["UNDERSTUDY_SCREENSHOT"] = test.screenshot ?? ""
        env["UNDERSTUDY_SERIAL_LOG"] = log
        process.environment = env
        try? process.run()
        process.waitUntilExit()
    }
}
