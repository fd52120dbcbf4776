import ArgumentParser
import Foundation
import Libvirt
import Standby

extension Understudy {
    struct Doctor: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show what this host offers guests: the accelerator verdict (KVM or TCG) with its evidence.",
            discussion: """
                The verdict comes from a probe that boots a tiny guest through real mode, protected mode, an \
                iret, timer interrupts, paging and long mode under KVM; it is kept in STORE/accelerator.json \
                for this kernel, qemu and CPU. A guest that KVM later kills turns it to TCG (listed as a \
                fallback). UNDERSTUDY_ACCEL=kvm|tcg or `machine set --accel` override it.
                """)
        @OptionGroup var global: GlobalOptions
        @Flag(help: "Probe again now instead of showing the stored verdict.") var probe = false

        func run() throws {
            let store = try global.openStore()
            let verdict = Hypervisor.hostVerdict(store: store.path, reprobe: probe)
            if global.json { Output.json(verdict); return }
            let override = ProcessInfo.processInfo.environment[Accelerator.environmentKey].map { "\n  override:  \(Accelerator.environmentKey)=\($0) (wins over the verdict)" } ?? ""
            print("""
                accelerator: \(verdict.accelerator)\(override)
                  reason:    \(verdict.reason)
                  probed:    \(Output.time(verdict.probedAt))\(verdict.trialSeconds.map { String(format: " (KVM trial %.2f s)", $0) } ?? "")
                  stages:    \(verdict.stagesReached.isEmpty ? "none" : verdict.stagesReached.joined(separator: ", ")) of \(Accelerator.probeStages.count)
                  host:      \(verdict.host)
                  file:      \(HostVerdict.path(store: store.path))
                """)
            for fallback in verdict.fallbacks {
                print("  fallback:  \(Output.time(fallback.time)) \(fallback.domain): \(fallback.reason)")
            }
        }
    }
}
