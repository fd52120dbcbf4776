import ArgumentParser
import BlockStore
import Foundation

extension Understudy {
    struct Machines: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the machines in the store.")
        @OptionGroup var global: GlobalOptions

        struct Row: Encodable {
            var name: String
            var blockSize: Int
            var points: Int
            var latestPoint: Int64?
            var latestTime: Date?
            var diskSize: Int64?
        }

        func run() throws {
            let store = try global.openStore()
            let rows = try store.catalog.machines().map { m in
                let points = try store.catalog.points(of: m.name)
                return Row(name: m.name, blockSize: m.blockSize, points: points.count, latestPoint: points.last?.id,
                           latestTime: points.last?.time, diskSize: points.last?.diskSize)
            }
            if global.json { Output.json(rows); return }
            print(Output.table(["MACHINE", "BLOCK", "POINTS", "LATEST", "TIME", "DISK"], rows.map { r in
                [r.name, Output.bytes(Int64(r.blockSize)), String(r.points), r.latestPoint.map(String.init) ?? "-",
                 r.latestTime.map(Output.time) ?? "-", r.diskSize.map(Output.bytes) ?? "-"]
            }))
        }
    }

    struct Points: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List a machine's recovery points, oldest first.")
        @OptionGroup var global: GlobalOptions
        @Argument var machine: String

        func run() throws {
            let store = try global.openStore()
            _ = try store.machine(machine)
            let points = try store.catalog.points(of: machine)
            if global.json { Output.json(points.map(PointView.init)); return }
            print(Output.table(["ID", "TIME", "DISK", "DATA", "CHANGED", "NEW", "STORED", "SECONDS"], points.map { p in
                let s = p.stats
                return [String(p.id!), Output.time(p.time), Output.bytes(p.diskSize), Output.bytes(Int64(s.dataBlocks) * Int64(p.blockSize)),
                        String(s.changedBlocks), String(s.newChunks), Output.bytes(s.storedBytes), String(format: "%.1f", s.seconds)]
            }))
        }
    }
}
