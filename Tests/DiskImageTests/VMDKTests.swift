import BlockStore
import Capture
@testable import DiskImage
import Foundation
import Testing
import TestSupport
import Core

/// VMDK writers checked against tools we did not write: qemu-img (compare, check, info, convert
/// for golden images), libvmdk's vmdkinfo, GNU tar, sha256sum and xmllint for OVAs.
@Suite("VMDK: monolithicSparse, streamOptimized, OVA")
struct VMDKTests {
    static let size = 37 << 20 + 12_800  // not a multiple of a grain, a grain table or a MiB

    /// Writes `raw` into a new image through the format's sink, as the builder does: blocks of
    /// `blockSize` in increasing order, all-zero blocks skipped.
    static func write(_ raw: String, to path: String, variant: String, blockSize: Int = 65536,
                      ova: Bool = false, machine: String = "web-01") throws {
        let source = try FileDescriptor(path: raw, flags: O_RDONLY)
        let diskSize = try source.size()
        let file = try PlainImageFile(FileDescriptor(path: path, flags: O_RDWR | O_CREAT | O_TRUNC))
        var options = ImageOptions(blockSize: blockSize)
        options.variant = variant
        options.ova = ova
        options.machine = machine
        let sink = try VMDKFormat.create(file, diskSize: diskSize, options: options)
        let buffer = AlignedBuffer(count: blockSize)
        var offset: Int64 = 0
        while offset < diskSize {
            let n = try source.read(into: buffer.pointer, count: Int(min(Int64(blockSize), diskSize - offset)), at: offset)
            let block = UnsafeRawBufferPointer(buffer.slice(0, n))
            if !isAllZero(block) { try sink.write(offset: offset, data: block, frame: nil) }
            offset += Int64(n)
        }
        try sink.finish()
    }

    static func disk(_ dir: TempDir, seed: UInt64 = 301) throws -> String {
        let raw = dir.file("disk.raw")
        try Disks.make(raw, size: size, seed: seed, regions: 40)
        return raw
    }

    struct WriteCase: CustomTestStringConvertible, Sendable {
        let variant: String
        let blockSize: Int
        var testDescription: String { "\(variant), \(blockSize / 1024) KiB blocks" }
    }

    static let writeCases = ["monolithicSparse", "streamOptimized"].flatMap { v in
        [65536, 4 << 20, 4096, 3 * 65536].map { WriteCase(variant: v, blockSize: $0) }
    }

    /// Block sizes above, below and across the 64 KiB grain.
    @Test(arguments: writeCases)
    func qemuAndLibvmdkReadWhatWeWrite(_ c: WriteCase) throws {
        let dir = TempDir("vmdk")
        let raw = try Self.disk(dir)
        let image = dir.file("out.vmdk")
        try Self.write(raw, to: image, variant: c.variant, blockSize: c.blockSize)
        let (same, why) = QemuImg.same(image, format: "vmdk", as: raw)
        #expect(same, "\(c): qemu-img compare: \(why)")
        let check = QemuImg.check(image, format: "vmdk")
        #expect(check.status == 0, "\(c): qemu-img check: \(check.output)")
        #expect(QemuImg.virtualSize(image, format: "vmdk") == Int64(Self.size))
        let info = QemuImg.info(image, format: "vmdk")
        let specific = (info["format-specific"] as? [String: Any])?["data"] as? [String: Any]
        #expect(specific?["create-type"] as? String == c.variant)
        let vmdkinfo = shell("vmdkinfo '\(image)' 2>&1")
        #expect(vmdkinfo.status == 0, "vmdkinfo: \(vmdkinfo.output)")
        #expect(vmdkinfo.output.contains("Media size:") && vmdkinfo.output.contains("(\(Self.size) bytes)"), "vmdkinfo: \(vmdkinfo.output)")
        #expect(vmdkinfo.output.contains(c.variant == "streamOptimized" ? "Stream optimized" : "Monolithic sparse"))
        let file = try PlainImageFile(readingFrom: image)
        #expect(try VMDKFormat.check(file) == [])
        #expect(try FormatRegistry.probe(file)?.name == "vmdk")
    }

    /// Golden vectors: images qemu-img made are probed, summarised and checked as sound.
    @Test(arguments: ["monolithicSparse", "streamOptimized"])
    func readsQemuImages(_ variant: String) throws {
        let dir = TempDir("vmdk-golden")
        let raw = try Self.disk(dir, seed: 302)
        let image = dir.file("qemu.vmdk")
        let (status, output) = QemuImg.convert(raw, to: image, format: "vmdk", options: "-o subformat=\(variant)")
        #expect(status == 0, "qemu-img convert: \(output)")
        let file = try PlainImageFile(readingFrom: image)
        #expect(try FormatRegistry.probe(file)?.name == "vmdk")
        let info = try VMDKFormat.info(file)
        #expect(info.virtualSize == Int64(Self.size))
        #expect(info.variant == variant)
        #expect(info.details["grainSize"] == "65536")
        #expect(info.details["compression"] == (variant == "streamOptimized" ? "deflate" : "none"))
        #expect(try VMDKFormat.check(file) == [])
    }

    /// The stream ends with footer marker, footer, end-of-stream (ESXi needs the EOS).
    @Test func streamEndsWithFooterAndEndOfStream() throws {
        let dir = TempDir("vmdk-eos")
        let raw = try Self.disk(dir)
        let image = dir.file("s.vmdk")
        try Self.write(raw, to: image, variant: "streamOptimized")
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: image)))
        #expect(bytes.count % 512 == 0)
        func u32(_ at: Int) -> UInt32 { bytes.withUnsafeBytes { UInt32(littleEndian: $0.loadUnaligned(fromByteOffset: at, as: UInt32.self)) } }
        func u64(_ at: Int) -> UInt64 { bytes.withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(fromByteOffset: at, as: UInt64.self)) } }
        // Header: KDMV, version 3, flags 0x30003, deflate, grain directory "at the end".
        #expect(Array(bytes[0..<4]) == Array("KDMV".utf8))
        #expect(u32(4) == 3 && u32(8) == 0x30003 && u64(56) == UInt64.max)
        #expect(bytes[77] == 1 && bytes[78] == 0)
        let eos = bytes.count - 512, footer = bytes.count - 1024, marker = bytes.count - 1536
        #expect(bytes[eos...].allSatisfy { $0 == 0 }, "last sector is the end-of-stream marker (all zeros)")
        #expect(u64(marker) == 1 && u32(marker + 8) == 0 && u32(marker + 12) == 3, "footer marker")
        #expect(Array(bytes[marker + 16..<footer]).allSatisfy { $0 == 0 })
        #expect(Array(bytes[footer..<(footer + 4)]) == Array("KDMV".utf8))
        #expect(u32(footer + 4) == 3 && u32(footer + 8) == 0x30003)
        let gd = Int(u64(footer + 56))
        #expect(gd > 0 && gd * 512 < marker, "footer names the grain directory")
        // The grain directory sits right behind its marker, right before the footer marker.
        #expect(u32((gd - 1) * 512 + 12) == 2 && gd * 512 + Int(u64((gd - 1) * 512)) * 512 == marker)
        // The first grain: marker with LBA and compressed size, then a zlib header (CMF 0x78).
        let first = 128 * 512
        #expect(u32(first + 8) > 0 && bytes[first + 12] == 0x78)
    }

    /// An OVA: .ovf first, then .mf, then the disk; the manifest's hashes are right; the OVF is
    /// well-formed XML; qemu-img reads the extracted disk; our probe, info and check see inside.
    @Test func ovaPackage() throws {
        let dir = TempDir("vmdk-ova")
        let store = try Store(path: dir.file("store"), create: true)
        let raw = try Self.disk(dir, seed: 303)
        let point = try Capturer.capture(store: store, machine: "web-01", source: SourceDisk(raw))
        var options = ImageBuilder.Options()
        options.format = VMDKFormat.self
        options.variant = "streamOptimized"
        options.ova = true
        let ova = dir.file("web.ova")
        _ = try ImageBuilder.build(store: store, point: point, to: ova, options: options)
        let list = shell("tar tvf '\(ova)' 2>&1")
        #expect(list.status == 0, "tar: \(list.output)")
        let names = shell("tar tf '\(ova)'").output.split(separator: "\n").map(String.init)
        #expect(names == ["web-01.ovf", "web-01.mf", "web-01-disk1.vmdk"])
        let out = dir.file("x")
        try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
        #expect(shell("cd '\(out)' && tar xf '\(ova)'").status == 0)
        let manifest = try String(contentsOfFile: out + "/web-01.mf", encoding: .utf8)
        for name in ["web-01.ovf", "web-01-disk1.vmdk"] {
            let hash = shell("sha256sum '\(out)/\(name)'").output.prefix(64)
            #expect(manifest.contains("SHA256(\(name))= \(hash)\n"), "manifest line for \(name): \(manifest)")
        }
        let xml = shell("xmllint --noout '\(out)/web-01.ovf' 2>&1")
        #expect(xml.status == 0, "xmllint: \(xml.output)")
        let ovf = try String(contentsOfFile: out + "/web-01.ovf", encoding: .utf8)
        let diskBytes = try FileManager.default.attributesOfItem(atPath: out + "/web-01-disk1.vmdk")[.size] as? Int
        #expect(ovf.contains("ovf:capacity=\"\(Self.size)\"") && ovf.contains("ovf:size=\"\(diskBytes ?? -1)\""))
        #expect(ovf.contains("<Name>web-01</Name>") && ovf.contains("#streamOptimized"))
        let disk = out + "/web-01-disk1.vmdk"
        #expect(QemuImg.same(disk, format: "vmdk", as: raw).0)
        #expect(QemuImg.check(disk, format: "vmdk").status == 0)
        #expect(shell("vmdkinfo '\(disk)'").output.contains("(\(Self.size) bytes)"))

        let file = try PlainImageFile(readingFrom: ova)
        #expect(try FormatRegistry.probe(file)?.name == "vmdk")
        let info = try VMDKFormat.info(file)
        #expect(info.virtualSize == Int64(Self.size) && info.details["package"] == "ova" && info.variant == "streamOptimized")
        #expect(try VMDKFormat.check(file) == [])
        // The OVA cannot be updated in place: the updater rebuilds it.
        #expect(try VMDKFormat.openForUpdate(file, options: ImageOptions(blockSize: 65536)) == nil)

        // A flipped byte in the disk breaks its manifest line.
        let handle = try FileHandle(forUpdating: URL(fileURLWithPath: ova))
        try handle.seek(toOffset: UInt64(file.size - 4096))
        handle.write(Data([0x55]))
        try handle.close()
        let problems = try VMDKFormat.check(try PlainImageFile(readingFrom: ova))
        #expect(problems.contains { $0.contains("SHA-256 of web-01-disk1.vmdk") }, "\(problems)")
    }

    @Test func refusesDisksOver2TiBAndOvaWithoutStream() throws {
        let dir = TempDir("vmdk-big")
        #expect(VMDKFormat.maxDiskSize(variant: "monolithicSparse") == 2 << 40)
        for variant in VMDKFormat.variants {
            let file = try PlainImageFile(FileDescriptor(path: dir.file("big-\(variant).vmdk"), flags: O_RDWR | O_CREAT | O_TRUNC))
            var options = ImageOptions(blockSize: 65536)
            options.variant = variant
            let error = #expect(throws: UnderstudyError.self) { try VMDKFormat.create(file, diskSize: (2 << 40) + 512, options: options) }
            #expect(error?.code == .unsupported && error?.message.contains("2 TiB") == true)
        }
        let file = try PlainImageFile(FileDescriptor(path: dir.file("sparse.ova"), flags: O_RDWR | O_CREAT | O_TRUNC))
        var options = ImageOptions(blockSize: 65536)
        options.ova = true
        let error = #expect(throws: UnderstudyError.self) { try VMDKFormat.create(file, diskSize: 1 << 20, options: options) }
        #expect(error?.code == .invalidArgument)
    }

    /// Exactly 2 TiB fits: tables for the whole extent, a block at each end, read back by qemu-img.
    @Test(arguments: VMDKFormat.variants)
    func acceptsExactly2TiB(_ variant: String) throws {
        let dir = TempDir("vmdk-2t")
        let path = dir.file("big.vmdk")
        let size: Int64 = 2 << 40
        let file = try PlainImageFile(FileDescriptor(path: path, flags: O_RDWR | O_CREAT | O_TRUNC))
        var options = ImageOptions(blockSize: 65536)
        options.variant = variant
        let sink = try VMDKFormat.create(file, diskSize: size, options: options)
        let block = [UInt8](repeating: 0xAB, count: 65536)
        try block.withUnsafeBytes { data in
            try sink.write(offset: 0, data: data, frame: nil)
            try sink.write(offset: size - 65536, data: data, frame: nil)
        }
        try sink.finish()
        #expect(QemuImg.virtualSize(path, format: "vmdk") == size)
        #expect(QemuImg.check(path, format: "vmdk").status == 0)
        // qemu-io verifies patterns where we wrote and zeros between (comparing all 2 TiB takes long).
        let reads = ["read -P 0xab 0 64k", "read -P 0xab \(size - 65536) 64k", "read -P 0 64k 1M", "read -P 0 \(size / 2) 1M"]
        let io = shell("qemu-io -r -f vmdk " + reads.map { "-c '\($0)' " }.joined() + "'\(path)' 2>&1")
        #expect(io.status == 0 && !io.output.contains("failed"), "\(variant): \(io.output)")
        #expect(try VMDKFormat.check(try PlainImageFile(readingFrom: path)) == [])
    }

    /// Damage is reported precisely: a bad magic, a bad version, a grain table outside the file,
    /// a grain entry outside the file, a descriptor at odds with the header.
    @Test func checkReportsDamage() throws {
        let dir = TempDir("vmdk-damage")
        let raw = try Self.disk(dir, seed: 304)
        let good = dir.file("good.vmdk")
        try Self.write(raw, to: good, variant: "monolithicSparse")
        let goodFile = try PlainImageFile(readingFrom: good)
        let h = try goodFile.read(512, at: 0)
        func u64(_ b: [UInt8], _ at: Int) -> Int { b.withUnsafeBytes { Int(UInt64(littleEndian: $0.loadUnaligned(fromByteOffset: at, as: UInt64.self))) } }
        let gd = u64(h, 56), rgd = u64(h, 48)
        let firstGT = try goodFile.read(4, at: Int64(gd * 512)).withUnsafeBytes { Int(UInt32(littleEndian: $0.loadUnaligned(as: UInt32.self))) }

        func damaged(_ name: String, at offset: Int, _ bytes: [UInt8]) throws -> [String] {
            let path = dir.file(name)
            try Disks.copy(good, path)
            let handle = try FileHandle(forUpdating: URL(fileURLWithPath: path))
            try handle.seek(toOffset: UInt64(offset))
            handle.write(Data(bytes))
            try handle.close()
            return try VMDKFormat.check(try PlainImageFile(readingFrom: path))
        }
        let magic = try damaged("magic.vmdk", at: 0, Array("XXXX".utf8))
        #expect(magic.count == 1 && magic[0].contains("not a VMDK"), "\(magic)")
        let version = try damaged("version.vmdk", at: 4, [9, 0, 0, 0])
        #expect(version.contains { $0.contains("version 9") }, "\(version)")
        let outside = try damaged("gt.vmdk", at: gd * 512, [0xF0, 0xFF, 0xFF, 0x00])
        #expect(outside.contains { $0.contains("grain table at sector 16777200 lies outside the file") }, "\(outside)")
        #expect(outside.contains { $0.contains("differs") } == false)
        let grain = try damaged("grain.vmdk", at: firstGT * 512 + 4 * 3, [0x00, 0x00, 0x00, 0x70])
        #expect(grain.contains { $0.contains("runs past the end of the file") } && grain.contains { $0.contains("redundant grain table 0 differs") }, "\(grain)")
        let overlap = try damaged("overlap.vmdk", at: firstGT * 512 + 8, [UInt8(rgd & 0xFF), UInt8(rgd >> 8 & 0xFF), 0, 0])
        #expect(overlap.contains { $0.contains("overlaps the redundant grain directory") }, "\(overlap)")
        let type = try damaged("type.vmdk", at: 512, Array("# Disk DescriptorFile\nversion=1\ncreateType=\"vmfs\"\n".utf8) + [0])
        #expect(type.contains { $0.contains("createType \"vmfs\"") } && type.contains { $0.contains("0 extent lines") }, "\(type)")
        // A qemu-made image that we damage the same way: the reader makes no assumption of ours.
        #expect(try VMDKFormat.check(goodFile) == [])
    }

    /// Descriptor text, as VMware writes it; a descriptor-only file is not claimed.
    @Test func descriptorAndProbe() throws {
        let dir = TempDir("vmdk-desc")
        let image = dir.file("d.vmdk")
        try Self.write(try Self.disk(dir, seed: 305), to: image, variant: "monolithicSparse")
        let file = try PlainImageFile(readingFrom: image)
        let text = String(decoding: try file.read(10240, at: 512).prefix { $0 != 0 }, as: UTF8.self)
        #expect(text.hasPrefix("# Disk DescriptorFile\nversion=1\n"))
        for line in ["parentCID=ffffffff", "createType=\"monolithicSparse\"", "RW \(Self.size / 512) SPARSE \"d.vmdk\"",
                     "ddb.adapterType = \"lsilogic\"", "ddb.geometry.heads = \"255\"", "ddb.geometry.sectors = \"63\"",
                     "ddb.geometry.cylinders = \"4\"", "ddb.virtualHWVersion = \"4\""] {
            #expect(text.contains(line + "\n"), "descriptor lacks \(line):\n\(text)")
        }
        let descriptorOnly = Array(text.utf8)
        #expect(VMDKFormat.probe(header: descriptorOnly, trailer: [], fileSize: Int64(descriptorOnly.count)) == 0)
        #expect(try VMDKFormat.info(file).details["createType"] == "monolithicSparse")
    }

    /// streamOptimized cannot be updated in place (the updater rebuilds it, saying why);
    /// monolithicSparse updates with 1 MiB blocks (16 grains each) still match a fresh build.
    @Test func updatesWithLargeBlocks() throws {
        let dir = TempDir("vmdk-upd")
        let store = try Store(path: dir.file("store"), create: true)
        let disk = dir.file("disk.img")
        try Disks.make(disk, size: 20 << 20, seed: 306, regions: 30)
        var capture = CaptureOptions()
        capture.blockSize = 1 << 20
        let a = try Capturer.capture(store: store, machine: "m", source: SourceDisk(disk), options: capture)
        try Disks.mutate(disk, seed: 307, writes: 8)
        let b = try Capturer.capture(store: store, machine: "m", source: SourceDisk(disk), options: capture)
        for variant in VMDKFormat.variants {
            var options = ImageBuilder.Options()
            options.format = VMDKFormat.self
            options.variant = variant
            let image = dir.file("standby-\(variant).vmdk")
            _ = try ImageBuilder.build(store: store, point: a, to: image, options: options)
            let report = try ImageUpdater.update(store: store, point: b, at: image, options: options)
            #expect(report.mode == (variant == "monolithicSparse" ? .update : .full), "\(variant): \(report.mode)")
            if report.mode == .full { #expect(report.note?.contains("cannot be updated in place") == true) }
            // Built aside under a temporary name, the descriptor still names the final file.
            let descriptor = String(decoding: try PlainImageFile(readingFrom: image).read(10240, at: 512), as: UTF8.self)
            #expect(descriptor.contains("SPARSE \"standby-\(variant).vmdk\"\n"), "\(descriptor)")
            let fresh = dir.file("fresh-\(variant).vmdk")
            _ = try ImageBuilder.build(store: store, point: b, to: fresh, options: options)
            #expect(shell("qemu-img compare -f vmdk -F vmdk '\(image)' '\(fresh)'").status == 0)
            #expect(QemuImg.check(image, format: "vmdk").status == 0)
            #expect(try VMDKFormat.check(try PlainImageFile(readingFrom: image)) == [])
        }
    }

    /// The OVF is a pure function: escaped names, well-formed XML, sizes where they belong.
    @Test func ovfEnvelopeIsWellFormed() throws {
        let dir = TempDir("vmdk-ovf")
        let envelope = VMDK.OVFEnvelope(name: "db <1> & \"two\"", diskFile: "db-disk1.vmdk", diskFileSize: 123_456,
                                        capacity: 10 << 30, populatedSize: 65536)
        let path = dir.file("e.ovf")
        try envelope.xml().write(toFile: path, atomically: false, encoding: .utf8)
        let lint = shell("xmllint --noout '\(path)' 2>&1")
        #expect(lint.status == 0, "xmllint: \(lint.output)")
        let xml = envelope.xml()
        #expect(xml.contains("<Name>db &lt;1&gt; &amp; &quot;two&quot;</Name>"))
        #expect(xml.contains("ovf:size=\"123456\"") && xml.contains("ovf:capacity=\"\(10 << 30)\""))
        #expect(xml.contains("<rasd:ResourceSubType>lsilogic</rasd:ResourceSubType>") && xml.contains("ovf:/disk/vmdisk1"))
        #expect(envelope.maximalLength >= xml.utf8.count)
        #expect(VMDK.OVASink.Names(machine: "a/b c").disk == "a_b_c-disk1.vmdk")
        #expect(VMDK.OVASink.Names(machine: "").ovf == "disk.ovf")
    }

    /// Tar headers GNU tar accepts, including a member of 8 GiB or more (base-256 size).
    @Test func tarHeadersForSmallAndHugeMembers() throws {
        let dir = TempDir("vmdk-tar")
        let path = dir.file("t.tar")
        let huge: Int64 = 9 << 30
        var bytes = VMDK.Tar.header(name: "a.ovf", size: 5, mtime: 1_700_000_000) + Array("hello".utf8)
        bytes += [UInt8](repeating: 0, count: 512 - 5)
        bytes += VMDK.Tar.header(name: "b-disk1.vmdk", size: huge, mtime: 1_700_000_000)
        #expect(FileManager.default.createFile(atPath: path, contents: Data(bytes)))
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        try handle.truncate(atOffset: UInt64(Int64(bytes.count) + huge + 1024))  // sparse: holes read as zeros
        try handle.close()
        let list = shell("tar tvf '\(path)' 2>&1")
        #expect(list.status == 0, "tar: \(list.output)")
        #expect(list.output.contains(" 5 ") && list.output.contains("a.ovf") && list.output.contains("\(huge)") && list.output.contains("b-disk1.vmdk"),
                "tar: \(list.output)")
        let members = try VMDK.Tar.members(of: try PlainImageFile(readingFrom: path))
        #expect(members.map(\.name) == ["a.ovf", "b-disk1.vmdk"] && members.map(\.size) == [5, huge] && members[1].offset == 1536)
    }
}
