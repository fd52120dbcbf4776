import Foundation
import RescueClient
import RescueProtocol

/// The menus of `understudy-rescue` without --machine: machine, point, disk, then a typed YES.
struct Interactive {
    let connection: RescueConnection

    func choose(point wanted: String) async throws -> RescueRestore.Options {
        let machines = try await connection.machines().filter { $0.points > 0 }
        guard !machines.isEmpty else { throw RescueError("the server has no machine with a recovery point") }
        say("Machines on the server:")
        for (n, m) in machines.enumerated() {
            say(String(format: "  %2d) %@  (%d points, latest %@)", n + 1, m.name, m.points, m.latestTime.map(Self.time) ?? "-"))
        }
        let machine = machines[try pick("Machine", count: machines.count, default: machines.count == 1 ? 1 : nil) - 1]
        let points = try await connection.points(of: machine.name).sorted { $0.time > $1.time }
        say("Points of \(machine.name), newest first:")
        for (n, p) in points.enumerated() {
            say(String(format: "  %2d) point %lld  %@  %@", n + 1, p.id, Self.time(p.time), Self.bytes(p.diskSize)))
        }
        let defaultPoint = wanted == "latest" ? 1 : (points.firstIndex { String($0.id) == wanted }.map { $0 + 1 } ?? 1)
        let point = points[try pick("Point", count: points.count, default: defaultPoint) - 1]
        let disks = LocalDisk.list()
        say("Disks of this machine:")
        for (n, d) in disks.enumerated() {
            let fits = d.bytes >= point.diskSize ? "" : "  (too small)"
            say(String(format: "  %2d) %@  %@  %@%@", n + 1, d.path, Self.bytes(d.bytes), d.model, fits))
        }
        let target: String
        if disks.isEmpty {
            target = try ask("No disk found. Target path (a device or an image file)")
        } else {
            let n = try pick("Disk (or 0 to type a path)", count: disks.count, default: nil, allowZero: true)
            target = n == 0 ? try ask("Target path") : disks[n - 1].path
        }
        let answer = try ask("Type YES to overwrite \(target) with \(machine.name) point \(point.id)")
        guard answer == "YES" else { throw RescueError("nothing written: the answer was not YES") }
        var options = RescueRestore.Options(machine: machine.name, point: String(point.id), target: target)
        options.yes = true
        return options
    }

    /// The yes/no question of a non-interactive run: needs a terminal, else it is a no.
    @Sendable static func confirm(_ question: String) -> Bool {
        guard isatty(0) != 0 else { return false }
        FileHandle.standardError.write(Data((question + " [y/N] ").utf8))
        return ["y", "yes"].contains(readLine()?.lowercased() ?? "")
    }

    private func pick(_ what: String, count: Int, default fallback: Int?, allowZero: Bool = false) throws -> Int {
        while true {
            let text = try ask(what + (fallback.map { " [\($0)]" } ?? ""))
            if text.isEmpty, let fallback { return fallback }
            if let n = Int(text), (allowZero ? 0 : 1)...count ~= n { return n }
            say("Please type a number from \(allowZero ? 0 : 1) to \(count).")
        }
    }

    private func ask(_ prompt: String) throws -> String {
        FileHandle.standardError.write(Data((prompt + ": ").utf8))
        guard let line = readLine() else { throw RescueError("no answer (input closed); pass --machine and --target to run unattended") }
        return line.trimmingCharacters(in: .whitespaces)
    }

    private func say(_ line: String) { FileHandle.standardError.write(Data((line + "\n").utf8)) }

    static func time(_ date: Date) -> String { ISO8601DateFormatter().string(from: date) }
    static func bytes(_ n: Int64) -> String { String(format: "%.1f GiB", Double(n) / 1_073_741_824) }
}
