import BlockStore
import Capture
import DiskImage
import Foundation
import Testing
import TestSupport

/// The strongest check of an image: a real guest boots from it. A small disk (MBR, syslinux,
/// the Debian kernel, a busybox initramfs that prints a marker from its data partition) is
/// captured, written in every format, and booted in qemu under TCG.
@Suite("Formats: every image boots", .serialized,
       .enabled(if: Fixtures.available, "needs qemu-system-x86, syslinux, mtools, dosfstools and a kernel in /boot (scripts/install-deps.sh)"))
struct BootTests {
    static let shared: (TempDir, Store, RecoveryPoint, String)? = {
        let dir = TempDir("boot")
        let marker = "point-\(UUID().uuidString.prefix(8))"
        guard (try? Fixtures.bootDisk(at: dir.file("fixture.img"), marker: marker)) != nil,
              let store = try? Store(path: dir.file("store"), create: true),
              let point = try? Capturer.capture(store: store, machine: "bootable", source: SourceDisk(dir.file("fixture.img")))
        else { return nil }
        return (dir, store, point, marker)
    }()

    @Test(arguments: FormatCase.all)
    func imageBootsAndShowsTheMarker(_ c: FormatCase) throws {
        let (dir, store, point, marker) = try #require(Self.shared, "could not build and capture the fixture disk")
        let image = dir.file("boot-\(c.format)-\(c.variant)\(c.compress ? "-z" : "").img")
        _ = try ImageBuilder.build(store: store, point: point, to: image, options: c.options())
        #expect(try Fixtures.boot(image, format: c.format) == marker)
    }

    /// Restoring to other hardware: the same raw image boots from IDE and SATA (AHCI) controllers.
    @Test(arguments: ["ide", "sata"])
    func rawImageBootsOnOtherControllers(_ bus: String) throws {
        let (dir, store, point, marker) = try #require(Self.shared, "could not build and capture the fixture disk")
        let image = dir.file("bus-\(bus).raw")
        var options = ImageBuilder.Options()
        options.force = true
        _ = try ImageBuilder.build(store: store, point: point, to: image, options: options)
        #expect(try Fixtures.boot(image, format: "raw", diskInterface: bus) == marker)
    }
}
