import Foundation
import Core

/// Builds the rescue boot images (hybrid ISO, PXE tree) by running `bootimage/make-bootimage.sh`,
/// which assembles the initramfs (busybox, kernel modules, `understudy-rescue` and its libraries,
/// `/init`), the unified kernel image for UEFI, the ISO (xorriso + isolinux) and the PXE tree.
/// The scripts are found like `templates/`: `UNDERSTUDY_BOOTIMAGE`, next to the executable
/// (`bootimage/` or `../share/understudy/bootimage/`), or the source tree.
public struct BootImageBuilder: Sendable {
    /// What to build and what to bake in; the kernel command line overrides the baked settings.
    public struct Options: Sendable {
        public var iso: String?
        public var pxe: String?
        public var server: String?
        public var token: String?
        public var machine: String?
        public var point: String?
        public var target: String?
        public var done: String?
        public var kernel: String?
        public var rescueBinary: String?
        public init() {}
    }

    /// The folder holding `make-bootimage.sh`.
    public let folder: String

    public init(folder: String? = nil) throws {
        if let folder {
            self.folder = folder
            return
        }
        self.folder = try ResourceFolder.find("bootimage", environment: "UNDERSTUDY_BOOTIMAGE", marker: "make-bootimage.sh",
                                               what: "the bootimage scripts", isValid: FileManager.default.isExecutableFile(atPath:))
    }


    /// `understudy-rescue` next to the running executable, as `swift build` places it.
    public static var defaultRescueBinary: String {
        ResourceFolder.executableFolder.appendingPathComponent("understudy-rescue").path
    }

    /// Checks the settings as the kernel command line will carry them; throws `.invalidArgument`.
    public static func validate(_ options: Options) throws {
        guard options.iso != nil || options.pxe != nil else {
            throw UnderstudyError(.invalidArgument, "nothing to build: give --iso OUT.iso and/or --pxe DIR")
        }
        if let server = options.server {
            guard let url = URL(string: server), ["http", "https"].contains(url.scheme ?? ""), url.host?.isEmpty == false else {
                throw UnderstudyError(.invalidArgument, "--server must be an http:// or https:// URL with a host: \(server)")
            }
        }
        if let done = options.done, !["poweroff", "reboot", "shell"].contains(done) {
            throw UnderstudyError(.invalidArgument, "--done must be poweroff, reboot or shell: \(done)")
        }
        let settings = [("server", options.server), ("token", options.token), ("machine", options.machine),
                        ("point", options.point), ("target", options.target)]
        for case let (name, value?) in settings where value.isEmpty || value.contains(where: { $0.isWhitespace }) {
            throw UnderstudyError(.invalidArgument, "--\(name) must be non-empty and without spaces (it travels on the kernel command line)")
        }
    }

    /// Builds the images; returns the script's summary lines (one per image).
    public func build(_ options: Options) throws -> [String] {
        try Self.validate(options)
        let rescue = options.rescueBinary ?? Self.defaultRescueBinary
        guard FileManager.default.isExecutableFile(atPath: rescue) else {
            throw UnderstudyError(.notFound, options.rescueBinary == nil
                ? "understudy-rescue not found next to understudy (\(rescue)); build it with `swift build --product understudy-rescue` or pass --rescue-binary PATH"
                : "--rescue-binary \(rescue) is not an executable file")
        }
        if let kernel = options.kernel, !FileManager.default.isReadableFile(atPath: kernel) {
            throw UnderstudyError(.notFound, "kernel \(kernel) not found or not readable")
        }
        var args = ["--rescue-binary", rescue]
        let flags: [(String, String?)] = [("--iso", options.iso), ("--pxe", options.pxe), ("--kernel", options.kernel),
                                          ("--server", options.server), ("--machine", options.machine),
                                          ("--point", options.point), ("--target", options.target), ("--done", options.done)]
        for case let (flag, value?) in flags { args += [flag, value] }
        var environment = ProcessInfo.processInfo.environment
        environment["BOOTIMAGE_TOKEN"] = options.token ?? ""   // not in argv: ps shows argv to everyone
        return try run(folder + "/make-bootimage.sh", args, environment: environment)
    }

    /// Runs a script to completion; its stderr (one line on failure) becomes the error message.
    private func run(_ script: String, _ args: [String], environment: [String: String]) throws -> [String] {
        let errors = FileManager.default.temporaryDirectory.appendingPathComponent("understudy-bootimage-\(UUID().uuidString).err")
        _ = FileManager.default.createFile(atPath: errors.path, contents: nil)
        defer { try? FileManager.default.removeItem(at: errors) }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/bash")
        process.arguments = [script] + args
        process.environment = environment
        let out = Pipe()
        process.standardOutput = out
        process.standardError = try FileHandle(forWritingTo: errors)
        process.standardInput = FileHandle.nullDevice
        do { try process.run() } catch {
            throw UnderstudyError(.io, "cannot run \(script): \(error)")
        }
        let output = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        let lines = output.split(separator: "\n").map(String.init)
        guard process.terminationStatus == 0 else {
            let message = String(decoding: (try? Data(contentsOf: errors)) ?? Data(), as: UTF8.self)
                .split(separator: "\n").map(String.init).last { !$0.isEmpty } ?? "exit \(process.terminationStatus)"
            throw UnderstudyError(.io, message.hasPrefix("bootimage: ") ? String(message.dropFirst(11)) : message)
        }
        return lines
    }
}
