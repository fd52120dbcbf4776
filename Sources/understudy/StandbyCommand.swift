import ArgumentParser
import BlockStore
import Foundation
import Standby
import Core

extension Understudy {
    struct StandbyCommand: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "standby", abstract: "Ready-to-boot libvirt standbys built from recovery points.",
            subcommands: [Build.self, List.self, Show.self])

        struct Build: ParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "Build or incrementally update a machine's standby image and (re)define its domain (not started).")
            @OptionGroup var global: GlobalOptions
            @Argument var machine: String
            @Option(help: "Image format (default: the machine's profile, qcow2).") var format: String?
            @Option(help: "latest, a point id, or @TIME.") var point = "latest"
            @Option(help: "libvirt URI.") var connect = Hypervisor.defaultURI
            @Flag(help: "Build the image only; do not define the domain.") var noRegister = false
            @Flag(help: "Reset an overlay a booted standby wrote (its changes are lost).") var discardChanges = false

            func run() throws {
                let store = try global.openStore()
                var options = StandbyBuilder.Options()
                options.point = try PointSelector(parsing: point)
                options.format = format
                options.connect = connect
                options.register = !noRegister
                options.discardChanges = discardChanges
                let report = try StandbyBuilder(store: store).build(machine: machine, options: options, progress: global.progress())
                if global.json { Output.json(report); return }
                let image = report.image
                let how = switch image.mode {
                case .full: "built \(Output.bytes(image.bytesWritten))" + (image.note.map { " (\($0))" } ?? "")
                case .update: "updated from point \(image.fromPoint ?? 0): \(image.changedBlocks) blocks, \(Output.bytes(image.bytesWritten)) written"
                case .unchanged: "already at that point"
                }
                global.note("standby of \(machine) at point \(report.standby.point): \(how) in \(String(format: "%.1f", image.seconds)) s; "
                    + (report.registered ? "domain \(report.standby.domain) defined (\(report.accelerator))" : "not registered"))
            }
        }

        struct List: ParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Machine, format, point held and its age, last verify, domain state.")
            @OptionGroup var global: GlobalOptions

            struct Row: Encodable {
                var machine: String, domain: String, format: String, point: Int64, pointTime: Date, ageSeconds: Double
                var lastVerify: BootTest?, state: String
            }

            func run() throws {
                let store = try global.openStore()
                let catalog = try StandbyCatalog(store: store)
                let rows = try catalog.standbys().map { s in
                    Row(machine: s.machine, domain: s.domain, format: s.format, point: s.point, pointTime: s.pointTime,
                        ageSeconds: Date().timeIntervalSince(s.pointTime), lastVerify: try catalog.lastBootTest(s.machine, kind: "verify"),
                        state: DomainStates.describe(s.domain, uri: s.connect))
                }
                if global.json { Output.json(rows); return }
                print(Output.table(["MACHINE", "FORMAT", "POINT", "AGE", "LAST VERIFY", "READY IN", "DOMAIN", "STATE"], rows.map { r in
                    [r.machine, r.format, String(r.point), Output.duration(r.ageSeconds),
                     r.lastVerify.map { "\($0.ok ? "ok" : "FAILED") \(Output.time($0.time))" } ?? "never",
                     r.lastVerify?.secondsToReady.map { String(format: "%.1f s", $0) } ?? "-", r.domain, r.state]
                }))
            }
        }

        struct Show: ParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Where a standby's image, overlay and console log are, and the point it holds.")
            @OptionGroup var global: GlobalOptions
            @Argument var machine: String

            func run() throws {
                let store = try global.openStore()
                guard let s = try StandbyCatalog(store: store).standby(machine) else {
                    throw UnderstudyError(.notFound, "machine \(machine) has no standby; build one with `understudy standby build \(machine)`")
                }
                let paths = try StandbyPaths(store: store, machine: machine)
                if global.json { Output.json(s); return }
                print("""
                    machine: \(s.machine)
                    domain: \(s.domain) at \(s.connect) (\(DomainStates.describe(s.domain, uri: s.connect)))
                    point: \(s.point) of \(Output.time(s.pointTime))
                    image: \(s.image) (\(s.format))
                    overlay: \(paths.overlay)
                    serial log: \(paths.serialLog)
                    built: \(Output.time(s.built))
                    """)
            }
        }
    }

    struct Failover: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Start a machine's standby and wait until it is ready; prints the measured time to ready.")
        @OptionGroup var global: GlobalOptions
        @Argument var machine: String
        @Option(help: "Bring the standby to this point first (latest, id, @TIME).") var point: String?
        @Flag(help: "Bring the standby to the newest point first.") var catchUp = false
        @Option(help: "libvirt URI (default: the one the standby was built for).") var connect: String?
        @Option(help: "Seconds to wait for readiness.") var timeout: Double = 300

        func run() throws {
            let store = try global.openStore()
            let report = try StandbyBuilder(store: store).failover(
                machine: machine, point: try point.map(PointSelector.init(parsing:)), catchUp: catchUp, connect: connect,
                timeout: timeout, progress: global.progress())
            if global.json { Output.json(report); return }
            if let fallback = report.fallback { global.note(fallback) }
            print(String(format: "%@ ready in %.1f s from point %lld (%@, %@)", report.domain, report.secondsToReady, report.point,
                         Output.time(report.pointTime), report.accelerator))
        }
    }
}

/// A domain's state for listings, without failing the listing when libvirt is away.
enum DomainStates {
    static func describe(_ name: String, uri: String) -> String {
        guard let conn = try? Hypervisor.connect(uri) else { return "libvirt unreachable" }
        guard let domain = try? conn.domain(named: name) else { return "not defined" }
        return (try? domain.state().description) ?? "unknown"
    }
}
