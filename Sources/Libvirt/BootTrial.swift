internal import Foundation

/// One timed boot of `ProbeSector` under an accelerator, watched until it exits, reports an
/// internal error, or runs out of time.
///
/// qemu does not exit when KVM fails ("KVM internal error … emulation failure"): it prints the
/// CPU state on standard error and stops the guest, so the trial reads standard error while it
/// waits and gives up as soon as that text appears.
struct BootTrial: Sendable {
    var succeeded: Bool
    var duration: Duration
    /// The stage marks the sector printed ("RPITLQ" when everything worked).
    var stages: String
    var summary: String

    static let failureMarkers = ["KVM internal error", "emulation failure", "Could not access KVM"]

    static func run(qemu: String, accelerator: Accelerator, deadline: Duration) -> BootTrial {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("understudy-accel-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: folder) }
        let image = folder.appendingPathComponent("probe.img")
        let console = folder.appendingPathComponent("debugcon.txt")
        let errors = folder.appendingPathComponent("stderr.txt")
        do {
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            try Data(ProbeSector.bytes).write(to: image)
            _ = FileManager.default.createFile(atPath: errors.path, contents: nil)
        } catch {
            return BootTrial(succeeded: false, duration: .zero, stages: "", summary: "could not write the probe image: \(error)")
        }

        let process = Process()
        process.executableURL = URL(fileURLWithPath: qemu)
        process.arguments = [
            "-accel", accelerator.qemuName, "-machine", "pc", "-m", "16",
            "-nodefaults", "-display", "none", "-serial", "none", "-monitor", "none", "-no-reboot",
            "-debugcon", "file:\(console.path)",
            "-device", "isa-debug-exit,iobase=0xf4,iosize=0x04",
            "-drive", "file=\(image.path),format=raw,if=ide",
        ]
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = FileHandle.nullDevice
        guard let errorHandle = try? FileHandle(forWritingTo: errors) else {
            return BootTrial(succeeded: false, duration: .zero, stages: "", summary: "could not create \(errors.path)")
        }
        process.standardError = errorHandle
        let clock = ContinuousClock()
        let start = clock.now
        do {
            try process.run()
        } catch {
            return BootTrial(succeeded: false, duration: .zero, stages: "", summary: "could not run \(qemu): \(error)")
        }
        try? errorHandle.close()
        var failure: String?
        var polls = 0
        while process.isRunning, clock.now - start < deadline {
            Thread.sleep(forTimeInterval: 0.01)
            polls += 1
            if polls % 5 == 0, let line = Self.failureLine(errors.path) {
                failure = line
                break
            }
        }
        let elapsed = clock.now - start
        let stillRunning = process.isRunning
        if stillRunning {
            kill(process.processIdentifier, SIGKILL)  // Process's children block SIGTERM
            process.waitUntilExit()
        }
        let stages = (try? String(contentsOf: console, encoding: .utf8)) ?? ""
        let name = accelerator.rawValue
        let reached = ProbeSector.describe(reached: stages)
        if let failure = failure ?? (stillRunning ? nil : Self.failureLine(errors.path)) {
            let at = ProbeSector.firstMissing(in: stages).map { " at \($0)" } ?? ""
            return BootTrial(succeeded: false, duration: elapsed, stages: stages,
                             summary: "\(name) failed\(at) (qemu: \(failure)); reached: \(reached)")
        }
        if stillRunning {
            let at = ProbeSector.firstMissing(in: stages).map { " at \($0)" } ?? ""
            return BootTrial(succeeded: false, duration: elapsed, stages: stages,
                             summary: "\(name) made no progress\(at) within \(Self.seconds(deadline)); reached: \(reached)")
        }
        let status = process.terminationStatus
        guard process.terminationReason == .exit, status == ProbeSector.exitStatus else {
            let detail = Self.lastLine(errors.path).map { ": \($0)" } ?? ""
            return BootTrial(succeeded: false, duration: elapsed, stages: stages,
                             summary: "qemu -accel \(name) exited with status \(status) (unavailable\(detail)); reached: \(reached)")
        }
        guard ProbeSector.firstMissing(in: stages) == nil else {
            return BootTrial(succeeded: false, duration: elapsed, stages: stages,
                             summary: "\(name) exited without passing every stage; reached: \(reached)")
        }
        return BootTrial(succeeded: true, duration: elapsed, stages: stages,
                         summary: "\(name) booted the probe through \(reached) in \(Self.seconds(elapsed))")
    }

    static func seconds(_ duration: Duration) -> String {
        let (whole, fraction) = duration.components
        return String(format: "%.2f s", Double(whole) + Double(fraction) / 1e18)
    }

    /// The lines of qemu's standard error that say the accelerator failed, joined.
    static func failureLine(_ path: String) -> String? {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8), !text.isEmpty else { return nil }
        let lines = text.split(whereSeparator: \.isNewline).filter { line in failureMarkers.contains { line.contains($0) } }
        return lines.isEmpty ? nil : String(lines.prefix(3).joined(separator: "; ").prefix(300))
    }

    static func lastLine(_ path: String) -> String? {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return nil }
        return text.split(whereSeparator: \.isNewline).last { !$0.contains("warning:") }.map { String($0.prefix(200)) }
    }
}
