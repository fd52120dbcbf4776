public import BlockStore
public import Foundation
import Libvirt
import DiskImage
public import Core

/// What `failover` measured.
public struct FailoverReport: Codable, Sendable {
    public var machine: String
    public var domain: String
    public var point: Int64
    public var pointTime: Date
    /// From the command's start to ready (the recovery time actually achieved).
    public var secondsToReady: Double
    /// Of which catching the standby up to the newest point took this long.
    public var catchUpSeconds: Double?
    public var serialLog: String
    /// The accelerator the guest became ready under.
    public var accelerator: String
    /// Why the guest was restarted under TCG, if it was.
    public var fallback: String?
}

extension StandbyBuilder {
    /// Starts the standby (optionally catching it up first) and waits until its readiness probe
    /// passes. Not ready in time: throws, and leaves the domain running for diagnosis.
    public func failover(machine: String, point: PointSelector? = nil, catchUp: Bool = false, connect: String? = nil,
                         timeout: Double = 300, progress: any ProgressReporter = SilentProgress()) throws -> FailoverReport {
        let started = Date()
        var record = try currentStandby(machine, progress: progress)
        let uri = connect ?? record.connect
        var catchUpSeconds: Double?
        if catchUp || point != nil {
            var options = Options()
            options.point = point ?? .latest
            options.connect = uri
            options.format = record.format
            record = try build(machine: machine, options: options, progress: progress).standby
            catchUpSeconds = Date().timeIntervalSince(started)
        }
        let profile = try catalog.profile(machine)
        let paths = try StandbyPaths(store: store, machine: machine)
        let conn = try Hypervisor.connect(uri)
        guard let defined = try Hypervisor.call("looking up domain \(record.domain)", { try conn.domain(named: record.domain) }) else {
            throw UnderstudyError(.notFound, "standby domain \(record.domain) is not defined at \(uri); run `understudy standby build \(machine)`")
        }
        if try Hypervisor.call("reading state of \(record.domain)", { try defined.isActive() }) {
            throw UnderstudyError(.conflict, "standby \(record.domain) is already running")
        }
        let test = { (ok: Bool, seconds: Double?, message: String) in
            try? self.catalog.addBootTest(BootTest(machine: machine, kind: "failover", time: started, point: record.point, ok: ok,
                                                   secondsToReady: seconds, screenshot: nil, message: message))
        }
        let portTarget = try PortTarget.resolve(profile)
        let launcher = GuestLauncher(decision: Hypervisor.accelerator(for: profile, store: store.path), storePath: store.path,
                                     note: { progress.note($0) })
        let outcome: GuestLauncher.Outcome<Double>
        do {
            outcome = try launcher.run("the standby \(record.domain)", serialLog: paths.serialLog, start: { accelerator in
                // The domain runs under the accelerator decided now (the host's verdict may have
                // changed since the build); redefining keeps its identity.
                let domain = try Self.isKVM(defined) == (accelerator == .kvm)
                    ? defined : try self.define(record, profile: profile, paths: paths, accelerator: accelerator, on: conn)
                unlink(paths.serialLog)  // a stale log must not count as ready
                try Hypervisor.call("starting \(record.domain)", { try domain.start() })
                return domain
            }, wait: { domain, watch in
                let probe = ReadinessProbe(readiness: profile.readiness, serialLog: paths.serialLog, domain: domain,
                                           portTarget: portTarget, timeout: timeout)
                _ = try probe.wait(isRunning: watch.check)
                return Date().timeIntervalSince(started)
            }, discard: { try? $0.destroy() })
        } catch {
            test(false, nil, "\(error)")
            throw UnderstudyError(.interrupted, "failover of \(machine): \((error as? UnderstudyError)?.message ?? "\(error)"); domain \(record.domain) left as it is for diagnosis")
        }
        test(true, outcome.value, outcome.fallback.map { "ready after a restart under TCG: \($0)" } ?? "ready")
        return FailoverReport(machine: machine, domain: record.domain, point: record.point, pointTime: record.pointTime,
                              secondsToReady: outcome.value, catchUpSeconds: catchUpSeconds, serialLog: paths.serialLog,
                              accelerator: outcome.accelerator.rawValue, fallback: outcome.fallback)
    }

    /// Whether a defined domain runs under KVM (`<domain type='kvm'>`).
    static func isKVM(_ domain: Domain) throws -> Bool {
        let xml = try Hypervisor.call("reading the definition of \(domain.name)", { try domain.xmlDescription(.inactive) })
        return xml.prefix(200).contains("type='kvm'") || xml.prefix(200).contains("type=\"kvm\"")
    }
}
