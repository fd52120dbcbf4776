import BlockStore
@testable import DiskImage
import Foundation
import Testing
import TestSupport
import Core

/// Issue #8 finding 2.4: one field of a file we wrote, set out of range (checksums made right
/// again), crashed `image info` or `image check` with an integer trap, or made them allocate
/// gigabytes. Each must now give a readable error or a list of problems, at once.
@Suite("Formats: hostile fields get an error, never a trap or a huge allocation")
struct HostileImageTests {
    /// `info` must refuse and `check` must list problems; neither may trap.
    func expectRefused(_ path: String, format: any DiskImageFormat.Type, info refuses: Bool = true,
                       sourceLocation: SourceLocation = #_sourceLocation) throws {
        let file = try PlainImageFile(readingFrom: path)
        if refuses {
            #expect(throws: UnderstudyError.self, sourceLocation: sourceLocation) { try format.info(file) }
        } else {
            _ = try format.info(file)
        }
        let problems = try format.check(file)
        #expect(!problems.isEmpty, "check found nothing", sourceLocation: sourceLocation)
        #expect(problems.count <= Problems.limit + 1, "\(problems.count) problems: the report is not capped", sourceLocation: sourceLocation)
    }

    static let qcow2 = FormatCase(format: "qcow2", variant: "v3", compress: false)

    @Test func qcow2SizeOfAllOnes() throws {
        let f = try HostileImage.fixture(Self.qcow2)
        try HostileImage.put(f.image, at: 24, UInt64.max, bigEndian: true)
        try expectRefused(f.image, format: QCOW2Format.self)
    }

    @Test(arguments: [(40, UInt64(1) << 63), (40, UInt64.max - 0xFFFF), (48, UInt64(1) << 63), (48, UInt64(1) << 40)])
    func qcow2TableOffsetOutOfRange(_ field: Int, _ value: UInt64) throws {
        let f = try HostileImage.fixture(Self.qcow2)
        try HostileImage.put(f.image, at: Int64(field), value, bigEndian: true)
        try expectRefused(f.image, format: QCOW2Format.self)
    }

    /// Header fields QEMU refuses to open an image with: the image would be unreadable after
    /// an update, so `check` (and the update's pre-check) must name them.
    @Test(arguments: [(104, UInt8(2)), (104, UInt8(0)), (103, UInt8(0x60))])
    func qcow2FieldsQemuRefuses(_ offset: Int, _ value: UInt8) throws {
        let c = FormatCase(format: "qcow2", variant: "v3", compress: true)
        let f = try HostileImage.fixture(c)
        try HostileImage.write(f.image, at: Int64(offset), [value])
        let problems = try QCOW2Format.check(PlainImageFile(readingFrom: f.image))
        #expect(!problems.isEmpty)
        #expect(QemuImg.check(f.image, format: "qcow2").status != 0, "qemu-img opens it after all")
    }

    /// The finding's 15 GB case: a header alone, naming a 2^31-entry L1 table.
    @Test func qcow2HugeL1TableInATinyFile() throws {
        let f = try HostileImage.fixture(Self.qcow2)
        try HostileImage.put(f.image, at: 36, UInt32(0x7FFF_FFFF), bigEndian: true)
        #expect(truncate(f.image, 138) == 0)
        try expectRefused(f.image, format: QCOW2Format.self)
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        #expect(usage.ru_maxrss < 1 << 20, "peak RSS \(usage.ru_maxrss) KiB")
    }

    @Test func dynamicVHDCutTo700Bytes() throws {
        let f = try HostileImage.fixture(FormatCase(format: "vhd", variant: "dynamic", compress: false))
        #expect(truncate(f.image, 700) == 0)
        try expectRefused(f.image, format: VHDFormat.self)
    }

    /// Current size 2^63 with a valid checksum, in both variants (dynamic: both footer copies).
    @Test(arguments: ["fixed", "dynamic"])
    func vhdCurrentSizeOf2To63(_ variant: String) throws {
        let f = try HostileImage.fixture(FormatCase(format: "vhd", variant: variant, compress: false))
        let end = try PlainImageFile(readingFrom: f.image).size - 512
        for at in variant == "dynamic" ? [0, end] : [end] {
            try HostileImage.put(f.image, at: at + 48, UInt64(1) << 63, bigEndian: true)
            try HostileImage.resealVHDFooter(f.image, at: at)
        }
        try expectRefused(f.image, format: VHDFormat.self)
    }

    static let sparse = FormatCase(format: "vmdk", variant: "monolithicSparse", compress: false)

    /// Descriptor offset (@28) or size (@36) and the redundant directory (@48) out of range:
    /// `info` still reads the image (it needs neither), `check` names the damage.
    @Test(arguments: [28, 36, 48])
    func vmdkHeaderFieldOutOfRange(_ field: Int) throws {
        let f = try HostileImage.fixture(Self.sparse)
        try HostileImage.put(f.image, at: Int64(field), UInt64.max - 1, bigEndian: false)
        try expectRefused(f.image, format: VMDKFormat.self, info: false)
    }

    /// The grain directory offset in a stream's footer (the header says "at the end").
    @Test func vmdkFooterGrainDirectoryOutOfRange() throws {
        let f = try HostileImage.fixture(FormatCase(format: "vmdk", variant: "streamOptimized", compress: false))
        let footer = try PlainImageFile(readingFrom: f.image).size - 1024
        try HostileImage.put(f.image, at: footer + 56, UInt64(1) << 63 + 7, bigEndian: false)
        try expectRefused(f.image, format: VMDKFormat.self, info: false)
    }

    static let vhdx = FormatCase(format: "vhdx", variant: "dynamic", compress: false)

    /// A region's offset of all ones in both region tables, CRC-32C right.
    @Test func vhdxRegionOffsetOfAllOnes() throws {
        let f = try HostileImage.fixture(Self.vhdx)
        for table in VHDXSpec.regionTableOffsets {
            try HostileImage.put(f.image, at: table + 16 + 16, UInt64.max, bigEndian: false)
            try HostileImage.resealVHDX(f.image, at: table, count: VHDXSpec.regionTableSize)
        }
        try expectRefused(f.image, format: VHDXFormat.self)
    }

    /// The log offset of all ones in both headers, CRC-32C right.
    @Test func vhdxLogOffsetOfAllOnes() throws {
        let f = try HostileImage.fixture(Self.vhdx)
        for header in VHDXSpec.headerOffsets {
            try HostileImage.put(f.image, at: header + 72, UInt64.max, bigEndian: false)
            try HostileImage.resealVHDX(f.image, at: header, count: VHDXSpec.headerSize)
        }
        try expectRefused(f.image, format: VHDXFormat.self, info: false)
    }

    /// An OVA whose disk member claims more bytes than the archive holds.
    @Test func ovaMemberSizeOfAllOnes() throws {
        var c = FormatCase(format: "vmdk", variant: "streamOptimized", compress: false)
        c.ova = true
        let f = try HostileImage.fixture(c)
        let members = try VMDK.Tar.members(of: PlainImageFile(readingFrom: f.image))
        let disk = try #require(members.last)
        let header = disk.offset - 512
        var bytes = try HostileImage.read(f.image, at: header, count: 512)
        bytes.replaceSubrange(124..<136, with: [0x80] + [UInt8](repeating: 0xFF, count: 11))
        for i in 148..<156 { bytes[i] = 0x20 }
        let sum = Array(String(bytes.reduce(0) { $0 + Int($1) }, radix: 8).utf8)
        bytes.replaceSubrange(148..<(148 + sum.count), with: sum)
        bytes[148 + sum.count] = 0
        try HostileImage.write(f.image, at: header, bytes)
        try expectRefused(f.image, format: VMDKFormat.self)
    }
}
