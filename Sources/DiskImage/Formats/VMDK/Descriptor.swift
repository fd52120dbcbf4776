import BlockStore
import Foundation
import Core

extension VMDK {
    /// The descriptor text embedded in a sparse extent (VMware "Virtual Disk Format 5.0", section
    /// "The Descriptor File"): header lines, one extent line, the disk database (ddb.*).
    struct Descriptor: Equatable {
        var cid: UInt32
        /// `monolithicSparse` or `streamOptimized`.
        var createType: String
        var capacitySectors: Int64
        /// The file the extent line names (the image itself for a monolithic file).
        var extentFile: String
        /// SCSI (LSI Logic) is what ESXi and Workstation default to; it also suits the OVF's controller.
        var adapterType = "lsilogic"
        /// "4" is the oldest hardware version every VMware product reads (qemu and ovftool write it too).
        var hardwareVersion = "4"

        /// BIOS geometry for SCSI adapters: 255 heads, 63 sectors, cylinders capped at 65535.
        var cylinders: Int64 { max(1, min(65535, capacitySectors / (255 * 63))) }

        /// The text, lines ended by "\n" as VMware writes them.
        func text() -> String {
            """
            # Disk DescriptorFile
            version=1
            encoding="UTF-8"
            CID=\(hex8(cid))
            parentCID=ffffffff
            createType="\(createType)"

            # Extent description
            RW \(capacitySectors) SPARSE "\(extentFile)"

            # The Disk Data Base
            #DDB

            ddb.virtualHWVersion = "\(hardwareVersion)"
            ddb.geometry.cylinders = "\(cylinders)"
            ddb.geometry.heads = "255"
            ddb.geometry.sectors = "63"
            ddb.adapterType = "\(adapterType)"

            """
        }

        /// The text zero-padded to the reserved descriptor sectors.
        func sectors() throws -> [UInt8] {
            var bytes = Array(text().utf8)
            let room = Int(VMDK.descriptorSectors) * VMDK.sector
            guard bytes.count <= room else {
                throw UnderstudyError(.invalidArgument, "VMDK descriptor is \(bytes.count) bytes, more than the \(room) reserved (file name too long?)")
            }
            bytes += [UInt8](repeating: 0, count: room - bytes.count)
            return bytes
        }

        /// A random content ID; VMware avoids ffffffff and fffffffe (they mean "no parent").
        static func newCID() -> UInt32 {
            var cid: UInt32
            repeat { cid = UInt32.random(in: 0...UInt32.max) } while cid >= 0xFFFF_FFFE
            return cid
        }
    }

    /// A descriptor read back: its `key=value` lines and its extent lines.
    struct ParsedDescriptor {
        var values: [String: String] = [:]
        var extents: [(access: String, sectors: Int64, type: String, file: String)] = []

        /// Parses descriptor text (up to the first NUL); nil unless it starts like a descriptor.
        init?(_ raw: [UInt8]) {
            let end = raw.firstIndex(of: 0) ?? raw.count
            let text = String(decoding: raw[..<end], as: UTF8.self)
            guard text.hasPrefix("# Disk DescriptorFile") else { return nil }
            for rawLine in text.split(whereSeparator: { $0 == "\n" || $0 == "\r" }) {
                let line = rawLine.trimmingCharacters(in: .whitespaces)
                if line.isEmpty || line.hasPrefix("#") { continue }
                let words = line.split(separator: " ", maxSplits: 3, omittingEmptySubsequences: true)
                if ["RW", "RDONLY", "NOACCESS"].contains(String(words[0])), words.count >= 4, let sectors = Int64(words[1]) {
                    let file = words[3].split(separator: "\"", omittingEmptySubsequences: true).first.map(String.init) ?? ""
                    extents.append((String(words[0]), sectors, String(words[2]), file))
                    continue
                }
                guard let eq = line.firstIndex(of: "=") else { continue }
                let key = line[..<eq].trimmingCharacters(in: .whitespaces)
                var value = line[line.index(after: eq)...].trimmingCharacters(in: .whitespaces)
                if value.count >= 2, value.hasPrefix("\""), value.hasSuffix("\"") { value = String(value.dropFirst().dropLast()) }
                values[key] = value
            }
        }
    }
}

extension VMDK {
    /// Eight lowercase hex digits, as descriptors spell CIDs.
    static func hex8(_ value: UInt32) -> String {
        let digits = String(value, radix: 16)
        return String(repeating: "0", count: 8 - digits.count) + digits
    }
}
