import ArgumentParser
import BlockStore
import DiskImage
import Foundation
import Core

extension Understudy {
    struct Image: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Read back disk images: header summary and structural check.",
            subcommands: [Info.self, Check.self, Formats.self])

        /// Opens an image, finishing or rolling back an interrupted update first.
        static func open(_ path: String, global: GlobalOptions) throws -> (PlainImageFile, any DiskImageFormat.Type) {
            if let message = try ImageUpdater.recover(path) { global.note(message) }
            let file = try PlainImageFile(readingFrom: path)
            guard let format = try FormatRegistry.probe(file) else {
                throw UnderstudyError(.unsupported, "\(path) is not an image in a format Understudy reads (\(FormatRegistry.names.joined(separator: ", ")))")
            }
            return (file, format)
        }

        struct Info: ParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Show an image's format, size and the point it holds.")
            @OptionGroup var global: GlobalOptions
            @Argument var file: String

            struct View: Encodable {
                var image: ImageInfo
                var record: ImageRecord?
                var modifiedSinceBuilt: Bool?
            }

            func run() throws {
                let (image, format) = try Image.open(file, global: global)
                let info = try format.info(image)
                let record = ImageRecord.load(for: file)
                let modified = try record.map { try ImageRecord.fingerprint(of: file) != $0.fingerprint }
                if global.json { Output.json(View(image: info, record: record, modifiedSinceBuilt: modified)); return }
                print("format: \(info.format) (\(info.variant))")
                print("virtual size: \(info.virtualSize) (\(Output.bytes(info.virtualSize)))")
                print("file size: \(info.fileSize) (\(Output.bytes(info.fileSize)))")
                for (key, value) in info.details.sorted(by: { $0.key < $1.key }) { print("\(key): \(value)") }
                if let record {
                    print("holds: machine \(record.machine), point \(record.point) of \(Output.time(record.pointTime)), built \(Output.time(record.built))")
                    if modified == true { print("modified outside Understudy since it was built") }
                }
            }
        }

        struct Formats: ParsableCommand {
            static let configuration = CommandConfiguration(abstract: "List the formats Understudy writes, with aliases and variants.")
            @OptionGroup var global: GlobalOptions

            func run() {
                let rows = FormatRegistry.all.map { f in
                    ["name": f.name, "aliases": f.aliases.joined(separator: ","), "variants": f.variants.joined(separator: ",")]
                }
                if global.json { Output.json(rows); return }
                print(Output.table(["FORMAT", "ALIASES", "VARIANTS (first = default)"], rows.map { [$0["name"]!, $0["aliases"]!, $0["variants"]!] }))
            }
        }

        struct Check: ParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Check an image's structure; exit 1 if it is damaged.")
            @OptionGroup var global: GlobalOptions
            @Argument var file: String

            func run() throws {
                let (image, format) = try Image.open(file, global: global)
                let problems = try format.check(image)
                if global.json {
                    Output.json(["format": format.name, "problems": problems.joined(separator: "\n")])
                } else {
                    for problem in problems { print(problem) }
                    global.note("\(file): \(format.name), \(problems.isEmpty ? "no problems found" : "\(problems.count) problems")")
                }
                if !problems.isEmpty { throw ExitCode(1) }
            }
        }
    }
}
