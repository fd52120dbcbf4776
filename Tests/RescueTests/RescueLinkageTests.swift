import Foundation
import Testing
import TestSupport

/// The rescue client runs in the boot image: it must carry the chunk format and file I/O it
/// shares with the server, and nothing of the store's catalog (SQLite, GRDB).
@Suite("Rescue client: what the boot image's binary links")
struct RescueLinkageTests {
    /// How many symbols of `binary` contain `text` (names demangled by the toolchain's swift-demangle).
    static func count(_ text: String, in binary: String) throws -> Int {
        let r = shell("nm '\(binary)' | swift-demangle | grep -c -F '\(text)'")
        return try #require(Int(r.output.trimmingCharacters(in: .whitespacesAndNewlines)), "nm \(binary): \(r.output.prefix(300))")
    }

    @Test func theRescueClientLinksTheSharedChunkCodeAndNoSQLite() throws {
        let rescue = RescueHarness.rescueBinary
        #expect(try Self.count("sqlite3_", in: rescue) == 0, "understudy-rescue links SQLite")
        #expect(try Self.count("GRDB", in: rescue) == 0, "understudy-rescue links GRDB")
        // It verifies chunks with ChunkFormat's ChunkFrame and writes with Core's FileDescriptor.
        #expect(try Self.count("ChunkFormat.ChunkFrame", in: rescue) > 0)
        #expect(try Self.count("Core.FileDescriptor", in: rescue) > 0)
        // The check can fail: the server binary does link SQLite.
        #expect(try Self.count("sqlite3_", in: CLI.binary) > 0)
    }
}
