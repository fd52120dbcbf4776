import Foundation
import Testing
import TestSupport

nonisolated(unsafe) private var bakedFolder: String?

/// Images every boot test shares, built once by `understudy bootimage` with the fake client and
/// unattended settings baked in.
struct BakedImages: Sendable {
    static let machine = "web1", point = "7", target = "/dev/vda", token = "tok-123"
    let dir: TempDir
    let iso: String
    let pxe: String
    let seconds: Double

    static let shared: Result<BakedImages, CLIError> = {
        let dir = TempDir("bootimage")
        // a static is never released: remove the folder when the test process exits
        bakedFolder = dir.path
        atexit { if let path = bakedFolder { try? FileManager.default.removeItem(atPath: path) } }
        do {
            let fake = try FakeRescue.build(in: dir)
            let iso = dir.file("rescue.iso"), pxe = dir.file("pxe")
            let start = Date()
            let r = try CLI(store: dir.file("store")).run([
                "bootimage", "--iso", iso, "--pxe", pxe, "--server", GuestNetwork.server, "--token", token,
                "--machine", machine, "--point", point, "--target", target, "--done", "poweroff", "--rescue-binary", fake,
            ], withStore: false)
            guard r.status == 0 else { return .failure(CLIError(message: "bootimage failed (\(r.status)): \(r.output)")) }
            return .success(BakedImages(dir: dir, iso: iso, pxe: pxe, seconds: Date().timeIntervalSince(start)))
        } catch {
            return .failure(CLIError(message: "\(error)"))
        }
    }()

    static func get() throws -> BakedImages { try shared.get() }

    /// The arguments /init must pass for the baked settings.
    static var bakedArguments: [String] {
        ["--server", GuestNetwork.server, "--machine", machine, "--point", point, "--target", target, "--yes"]
    }
}

/// Real qemu (TCG) boots of the rescue images; one at a time (each takes the 2 cores).
@Suite("Rescue boot images", .serialized, .enabled(if: RescueBoot.available, "needs qemu-system-x86_64, xorriso, cc and a /boot/vmlinuz-*"))
struct RescueBootTests {
    /// What every unattended boot with the baked settings shows on its serial console.
    static func expectUnattended(_ boot: RescueBoot.Boot, result: String = "UNDERSTUDY-RESCUE: OK", arguments: [String] = BakedImages.bakedArguments,
                                 token: String = BakedImages.token) {
        let log = boot.log
        #expect(boot.result == result, "\(log)")
        #expect(log.contains("Linux version"), "no kernel messages on the serial console")
        #expect(log.contains("eth0: DHCP lease 10.0.2.15/24 router 10.0.2.2"), "\(log)")
        #expect(FakeRescue.arguments(in: log) == arguments, "\(log)")
        if let i = arguments.firstIndex(of: "--target") {
            #expect(log.contains("FAKE-RESCUE target \(arguments[i + 1]) block-device=1"), "the target disk is missing: \(log)")
        }
        #expect(log.contains("FAKE-RESCUE server 10.0.2.100:8080 answered: \(GuestNetwork.answer)"), "the client could not reach the server: \(log)")
        // The token reaches the client in its environment, never on its command line (ps).
        #expect(log.contains("FAKE-RESCUE env UNDERSTUDY_TOKEN=\(token)"), "\(log)")
        #expect(log.contains("understudy: running understudy-rescue ") && log.contains("(token in UNDERSTUDY_TOKEN)"))
        #expect(log.contains("understudy: powering off"))
    }
}
