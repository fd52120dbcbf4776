import BlockStore
public import Foundation
public import Libvirt
import Core

/// Waits until a booting standby is ready, by its machine's probe: a serial-console line, a TCP
/// port that accepts connections, or qemu-guest-agent answering. Every probe polls until it
/// passes, the guest stops, or `timeout` seconds from `started` pass; its messages say what it
/// saw last.
public struct ReadinessProbe {
    public var readiness: HardwareProfile.Readiness
    /// The console log the domain writes (`<log file>`), for `.serial` and for messages.
    public var serialLog: String
    /// The booting domain: the agent probe asks it, the port probe may ask it for addresses.
    public var domain: Domain?
    /// Where the port probe connects (`PortTarget.resolve`); required for `.port`.
    public var portTarget: PortTarget?
    public var timeout: Double
    public var started: Date

    public init(readiness: HardwareProfile.Readiness, serialLog: String, domain: Domain? = nil, portTarget: PortTarget? = nil,
                timeout: Double, started: Date = Date()) {
        self.readiness = readiness; self.serialLog = serialLog; self.domain = domain; self.portTarget = portTarget
        self.timeout = timeout; self.started = started
    }

    /// Seconds from `started` until ready; throws `.interrupted` with what was seen last if the
    /// guest stops or `timeout` passes first.
    public func wait(isRunning: () throws -> Bool) throws -> Double {
        switch readiness {
        case .serial(let pattern): return try waitForSerial(pattern, isRunning: isRunning)
        case .agent: return try waitForAgent(isRunning: isRunning)
        case .port:
            guard let portTarget else { throw UnderstudyError(.invalidArgument, "the port probe needs a target") }
            return try PortProbe(target: portTarget, domain: domain).wait(self, isRunning: isRunning)
        }
    }

    var elapsed: Double { Date().timeIntervalSince(started) }
    var timedOut: Bool { elapsed >= timeout }

    /// "not ready after N s: …" with the console's last lines.
    func notReady(_ what: String) -> UnderstudyError {
        UnderstudyError(.interrupted, "not ready after \(Int(timeout)) s: \(what); console: \(Self.tail(serialLog))")
    }

    func stopped(_ what: String) -> UnderstudyError {
        UnderstudyError(.interrupted, "the guest stopped before \(what); console: \(Self.tail(serialLog))")
    }

    private func waitForSerial(_ pattern: String, isRunning: () throws -> Bool) throws -> Double {
        let regex = try Regex(pattern)
        while !timedOut {
            if let text = try? String(contentsOfFile: serialLog, encoding: .utf8),
               text.split(whereSeparator: \.isNewline).contains(where: { $0.contains(regex) }) {
                return elapsed
            }
            guard try isRunning() else { throw stopped("a serial line matched /\(pattern)/") }
            Thread.sleep(forTimeInterval: 0.1)
        }
        throw notReady("no serial line matched /\(pattern)/")
    }

    /// Asks for the guest's clock (`virDomainGetTime`, which qemu-guest-agent answers with
    /// guest-get-time) until it answers. While the guest has not opened the agent's port libvirt
    /// fails at once, so polling costs nothing; an agent that hangs costs libvirt's agent timeout.
    private func waitForAgent(isRunning: () throws -> Bool) throws -> Double {
        guard let domain else { throw UnderstudyError(.invalidArgument, "the agent probe needs the domain") }
        var last = "no answer yet"
        while !timedOut {
            do {
                _ = try domain.guestTime()
                return elapsed
            } catch where error.code == .argumentUnsupported {
                // no org.qemu.guest_agent.0 channel: waiting cannot help
                throw UnderstudyError(.unsupported, "domain \(domain.name) has no guest-agent channel (\(error.message)); rebuild the standby with `understudy standby build`")
            } catch {
                last = error.message
            }
            guard try isRunning() else { throw stopped("qemu-guest-agent answered (libvirt: \(last))") }
            Thread.sleep(forTimeInterval: 0.25)
        }
        throw notReady("qemu-guest-agent did not answer (libvirt: \(last))")
    }

    /// The last lines of the console log, for messages.
    static func tail(_ path: String, lines: Int = 5) -> String {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8), !text.isEmpty else { return "(empty)" }
        return text.split(whereSeparator: \.isNewline).suffix(lines).joined(separator: " | ")
    }
}
