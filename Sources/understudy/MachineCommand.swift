public import ArgumentParser
import BlockStore
import Standby

extension Understudy {
    struct MachineCommand: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "machine", abstract: "Show or set a machine's standby hardware profile.",
            subcommands: [Set.self, Show.self])

        struct Show: ParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Show a machine's hardware profile.")
            @OptionGroup var global: GlobalOptions
            @Argument var machine: String

            func run() throws {
                let store = try global.openStore()
                _ = try store.machine(machine)
                let profile = try StandbyCatalog(store: store).profile(machine)
                if global.json { Output.json(profile); return }
                print("""
                    cpus: \(profile.cpus)
                    memory: \(profile.memoryMiB) MiB
                    firmware: \(profile.firmware.rawValue)
                    disk bus: \(profile.diskBus.rawValue)
                    nic: \(nic(profile))\(profile.mac.map { ", mac \($0)" } ?? "")
                    forwards: \(profile.forwards.isEmpty ? "none" : profile.forwards.map(\.description).joined(separator: ", "))
                    standby format: \(profile.format)
                    domain: \(profile.domain ?? machine)
                    ready when: \(profile.readiness)\(profile.readyHost.map { " on \($0)" } ?? "")
                    accelerator: \(profile.accel.rawValue)
                    """)
            }

            private func nic(_ p: HardwareProfile) -> String {
                switch p.network {
                case nil: "none"
                case HardwareProfile.userNetwork?: "\(p.nicModel) on user-mode networking (isolated)"
                case let network?: "\(p.nicModel) on network \(network)"
                }
            }
        }

        struct Set: ParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Change a machine's hardware profile (only the options given).")
            @OptionGroup var global: GlobalOptions
            @Argument var machine: String
            @Option var cpus: Int?
            @Option(help: "Memory in MiB.") var memory: Int?
            @Option(help: "bios or uefi (OVMF).") var firmware: HardwareProfile.Firmware?
            @Option(help: "virtio, sata, ide or scsi.") var diskBus: HardwareProfile.DiskBus?
            @Option(help: "virtio, e1000, e1000e or rtl8139.") var nicModel: String?
            @Option(help: "The NIC's MAC address (keep production's).") var mac: String?
            @Option(help: "libvirt network for the NIC; 'user' for isolated user-mode networking reached through --forward; 'none' for no NIC.") var network: String?
            @Option(help: ArgumentHelp("With --network user: forward 127.0.0.1:HOSTPORT to the guest's GUESTPORT (repeatable; 'none' clears).", valueName: "HOSTPORT:GUESTPORT")) var forward: [String] = []
            @Option(help: "Standby image format.") var format: String?
            @Option(help: "Domain name (default: the machine's name).") var domain: String?
            @Option(help: "Ready when a serial-console line matches this regex.") var readySerial: String?
            @Option(help: "Ready when this TCP port answers on the guest.") var readyPort: Int?
            @Flag(help: "Ready when qemu-guest-agent answers.") var readyAgent = false
            @Option(help: "Where --ready-port connects on failover (production's name or IP; default: the guest's address; 'none' clears).") var readyHost: String?
            @Option(help: "auto, kvm or tcg.") var accel: HardwareProfile.Accel?

            func validate() throws {
                let probes = [readySerial != nil, readyPort != nil, readyAgent].filter { $0 }.count
                guard probes <= 1 else { throw ValidationError("give one of --ready-serial, --ready-port, --ready-agent") }
                for f in forward where f != "none" && HardwareProfile.PortForward(f) == nil {
                    throw ValidationError("--forward '\(f)' is not HOSTPORT:GUESTPORT")
                }
            }

            func run() throws {
                let store = try global.openStore()
                _ = try store.machine(machine)
                let catalog = try StandbyCatalog(store: store)
                var p = try catalog.profile(machine)
                if let cpus { p.cpus = cpus }
                if let memory { p.memoryMiB = memory }
                if let firmware { p.firmware = firmware }
                if let diskBus { p.diskBus = diskBus }
                if let nicModel { p.nicModel = nicModel }
                if let mac { p.mac = mac.lowercased() }
                if let network { p.network = network == "none" ? nil : network }
                if !forward.isEmpty { p.forwards = forward.filter { $0 != "none" }.compactMap(HardwareProfile.PortForward.init) }
                if p.network != HardwareProfile.userNetwork && forward.isEmpty { p.forwards = [] }
                if let format { p.format = try FormatName.canonical(format) }
                if let domain { p.domain = domain }
                if let readySerial { p.readiness = .serial(readySerial) }
                if let readyPort { p.readiness = .port(readyPort) }
                if readyAgent { p.readiness = .agent }
                if let readyHost { p.readyHost = readyHost == "none" ? nil : readyHost }
                if let accel { p.accel = accel }
                try p.validate()
                try catalog.setProfile(p, for: machine)
                if global.json { Output.json(p) } else { global.note("profile of \(machine) saved") }
            }
        }
    }
}

extension HardwareProfile.Firmware: ExpressibleByArgument {}
extension HardwareProfile.DiskBus: ExpressibleByArgument {}
extension HardwareProfile.Accel: ExpressibleByArgument {}
