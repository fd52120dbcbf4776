public import BlockStore
import DiskImage
import Foundation
import Libvirt
public import Core

/// `restore MACHINE --to-vm NAME`: a new libvirt VM from a recovery point (P2V: a physical
/// server moved onto a hypervisor in one command). The disk is a standalone qcow2 image (no
/// overlay, no link to the store), the domain XML is the standby template with the machine's
/// hardware profile, and the domain is defined persistent, started only with `start`.
public enum VMRestore {
    public struct Options: Sendable {
        public var point = PointSelector.latest
        public var connect = Hypervisor.defaultURI
        /// Where the disk goes; default `/var/lib/libvirt/images/NAME.qcow2`.
        public var image: String?
        public var start = false
        /// After starting, how long the guest is watched for a fault (a broken KVM kills guests
        /// within their first seconds) before the command returns.
        public var settleSeconds: Double = 15
        public init() {}
    }

    public struct Report: Codable, Sendable {
        public var domain: String
        public var machine: String
        public var point: Int64
        public var image: String
        public var serialLog: String
        public var accelerator: String
        public var started: Bool
        public var seconds: Double
        /// Why the VM was restarted under TCG, if it was.
        public var fallback: String?
    }

    public static func run(store: Store, machine: String, name: String, options: Options,
                           progress: any ProgressReporter = SilentProgress()) throws -> Report {
        let started = Date()
        guard !name.isEmpty, name.count <= 64, name.allSatisfy({ $0.isLetter || $0.isNumber || "-_.".contains($0) }) else {
            throw UnderstudyError(.invalidArgument, "VM name '\(name)' must be 1–64 letters, digits, '-', '_', '.'")
        }
        _ = try store.machine(machine)
        let profile = try StandbyCatalog(store: store).profile(machine)
        let point = try options.point.select(from: store.catalog.points(of: machine), machine: machine)
        let connection = try Hypervisor.connect(options.connect)
        if try Hypervisor.call("looking up domain \(name)", { try connection.domain(named: name) }) != nil {
            throw UnderstudyError(.alreadyExists, "a libvirt domain named \(name) already exists at \(options.connect); pick another name")
        }
        let image = options.image ?? "/var/lib/libvirt/images/\(name).qcow2"
        guard !FileSystem.exists(image) else {
            throw UnderstudyError(.alreadyExists, "\(image) exists; it is not overwritten (remove it, or pass --vm-image PATH)")
        }
        let base = URL(fileURLWithPath: image).deletingPathExtension().path
        let serialLog = base + ".serial.log"
        var imageOptions = ImageBuilder.Options()
        imageOptions.format = try FormatRegistry.format(named: "qcow2")
        _ = try ImageBuilder.build(store: store, point: point, to: image, options: imageOptions, progress: progress)
        do {
            let decision = Hypervisor.accelerator(for: profile, store: store.path)
            let spec = DomainSpec(name: name, machine: machine, point: point.id ?? 0, pointTime: point.time, built: Date(),
                                  format: "qcow2", image: image, overlay: image, serialLog: serialLog,
                                  kvm: decision.accelerator == .kvm, profile: profile, nvram: profile.firmware == .uefi ? base + "_VARS.fd" : nil)
            let define = { (accelerator: Accelerator) throws -> Domain in
                var attempt = spec
                attempt.kvm = accelerator == .kvm
                let xml = try DomainXML.render(attempt, templates: Templates())
                return try Hypervisor.call("defining domain \(name)", { try connection.defineDomain(xml: xml) })
            }
            var accelerator = decision.accelerator
            var fallback: String?
            if options.start {
                let launcher = GuestLauncher(decision: decision, storePath: store.path, note: { progress.note($0) })
                let outcome = try launcher.run("VM \(name)", serialLog: serialLog, start: { accelerator in
                    let domain = try define(accelerator)
                    try Hypervisor.call("starting domain \(name)", { try domain.start() })
                    return domain
                }, wait: { _, watch in try settle(watch, seconds: options.settleSeconds) },
                discard: { try? $0.destroy() })
                accelerator = outcome.accelerator
                fallback = outcome.fallback
            } else {
                _ = try define(accelerator)
            }
            return Report(domain: name, machine: machine, point: point.id ?? 0, image: image, serialLog: serialLog,
                          accelerator: accelerator.rawValue, started: options.start, seconds: Date().timeIntervalSince(started),
                          fallback: fallback)
        } catch {
            // No half-made VM: the image goes if the domain could not be defined or started.
            if let domain = try? connection.domain(named: name) { try? domain.destroy(); try? domain.undefine([.nvram]) }
            unlink(image)
            unlink(ImageRecord.path(of: image))
            throw error
        }
    }

    /// Watches a started guest for `seconds`: it must neither fault nor stop.
    static func settle(_ watch: GuestWatch, seconds: Double) throws {
        let until = Date().addingTimeInterval(seconds)
        while Date() < until {
            guard try watch.check() else {
                throw UnderstudyError(.interrupted, "VM \(watch.domain.name) stopped within \(Int(seconds)) s of starting; console: \(ReadinessProbe.tail(watch.serialLog))")
            }
            Thread.sleep(forTimeInterval: 0.5)
        }
    }
}
