public import BlockStore
public import DiskImage
public import Foundation
internal import GRDB
import Core

/// A machine's standby as last built.
public struct StandbyRecord: Codable, Sendable, Equatable {
    public var machine: String
    public var domain: String
    public var format: String
    public var image: String
    public var point: Int64
    public var pointTime: Date
    public var built: Date
    public var connect: String
    /// The overlay as the build left it: if it changed, a guest wrote it.
    public var overlay: ImageRecord.Fingerprint?
}

/// One boot of a standby: a verify (disposable copy) or a failover.
public struct BootTest: Codable, Sendable, Equatable {
    public var id: Int64?
    public var machine: String
    public var kind: String
    public var time: Date
    public var point: Int64
    public var ok: Bool
    /// Seconds from start to ready (nil if never ready).
    public var secondsToReady: Double?
    public var screenshot: String?
    public var message: String
}

/// The standby tables of the store's catalog (hardware profiles, standbys, boot tests), in the
/// same SQLite file under their own migrations (`standby-v1`, ...).
public final class StandbyCatalog: Sendable {
    private let db: ModuleDatabase
    public let path: String
    static let known: Set<String> = ["standby-v1"]

    public init(store: Store) throws {
        path = store.layout.catalog
        db = try ModuleTables.open(store: store, prefix: "standby-", known: Self.known, what: "standby tables") { migrator in
            migrator.registerMigration("standby-v1") { db in
                try db.create(table: "profile") { t in
                    t.primaryKey("machine", .text)
                    t.column("json", .text).notNull()
                }
                try db.create(table: "standby") { t in
                    t.primaryKey("machine", .text)
                    t.column("json", .text).notNull()
                }
                try db.create(table: "boot_test") { t in
                    t.autoIncrementedPrimaryKey("id")
                    t.column("machine", .text).notNull().indexed()
                    t.column("time", .double).notNull()
                    t.column("json", .text).notNull()
                }
            }
        }
    }

    private func run<T>(_ body: () throws -> T) throws -> T {
        do { return try body() } catch let e as UnderstudyError { throw e } catch {
            throw UnderstudyError(.io, "catalog \(path): \(error)", at: .init(path: path))
        }
    }

    private static func encode(_ value: some Encodable) throws -> String {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        encoder.outputFormatting = .sortedKeys
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }

    private static func decode<T: Decodable>(_ type: T.Type, _ text: String) throws -> T {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        return try decoder.decode(type, from: Data(text.utf8))
    }

    /// The machine's profile, or the defaults.
    public func profile(_ machine: String) throws -> HardwareProfile {
        try run {
            try db.read { db in
                try String.fetchOne(db, sql: "SELECT json FROM profile WHERE machine = ?", arguments: [machine])
            }.map { try Self.decode(HardwareProfile.self, $0) } ?? HardwareProfile()
        }
    }

    public func setProfile(_ profile: HardwareProfile, for machine: String) throws {
        try run {
            try db.write { db in
                try db.execute(sql: "INSERT OR REPLACE INTO profile (machine, json) VALUES (?, ?)", arguments: [machine, try Self.encode(profile)])
            }
        }
    }

    public func standby(_ machine: String) throws -> StandbyRecord? {
        try run {
            try db.read { db in
                try String.fetchOne(db, sql: "SELECT json FROM standby WHERE machine = ?", arguments: [machine])
            }.map { try Self.decode(StandbyRecord.self, $0) }
        }
    }

    public func standbys() throws -> [StandbyRecord] {
        try run {
            try db.read { db in try String.fetchAll(db, sql: "SELECT json FROM standby ORDER BY machine") }
                .map { try Self.decode(StandbyRecord.self, $0) }
        }
    }

    public func setStandby(_ record: StandbyRecord) throws {
        try run {
            try db.write { db in
                try db.execute(sql: "INSERT OR REPLACE INTO standby (machine, json) VALUES (?, ?)", arguments: [record.machine, try Self.encode(record)])
            }
        }
    }

    public func addBootTest(_ test: BootTest) throws {
        try run {
            try db.write { db in
                try db.execute(sql: "INSERT INTO boot_test (machine, time, json) VALUES (?, ?, ?)",
                               arguments: [test.machine, test.time.timeIntervalSince1970, try Self.encode(test)])
            }
        }
    }

    /// The latest boot test of each kind, or of `kind`.
    public func lastBootTest(_ machine: String, kind: String? = nil) throws -> BootTest? {
        try run {
            try db.read { db in
                try String.fetchAll(db, sql: "SELECT json FROM boot_test WHERE machine = ? ORDER BY time DESC, id DESC", arguments: [machine])
            }.lazy.compactMap { try? Self.decode(BootTest.self, $0) }.first { kind == nil || $0.kind == kind }
        }
    }
}
