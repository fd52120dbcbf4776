import ArgumentParser

/// The root command.
struct Understudy: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Keeps whole disks as versioned, deduplicated blocks and brings servers back from them.",
        version: "0.1.0",
        subcommands: [Init.self, Capture.self, Machines.self, Points.self, Restore.self, Image.self, MachineCommand.self, StandbyCommand.self, Failover.self, Verify.self, ScheduleCommand.self, Serve.self, TokenCommand.self, BootImageCommand.self, Forget.self, GC.self, Doctor.self]
    )

}
