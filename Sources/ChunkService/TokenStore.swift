public import BlockStore
public import Foundation
import Crypto
import Synchronization
internal import GRDB
import Core

/// Access tokens of the chunk service, in the store's catalog under their own migrations
/// (`service-v1`, ...). Only a SHA-256 of each token is kept: the secret is shown once, at creation.
public final class TokenStore: Sendable {
    public struct Token: Codable, Sendable, Equatable {
        public var name: String
        public var created: Date
        public var lastUsed: Date?
    }

    private let db: ModuleDatabase
    /// When this process last recorded each token's use.
    private let recorded = Mutex<[String: Double]>([:])
    let path: String
    static let known: Set<String> = ["service-v1"]
    static let prefix = "ust_"

    public init(store: Store) throws {
        path = store.layout.catalog
        db = try ModuleTables.open(store: store, prefix: "service-", known: Self.known, what: "token table") { migrator in
            migrator.registerMigration("service-v1") { db in
                try db.create(table: "token") { t in
                    t.primaryKey("name", .text)
                    t.column("digest", .text).notNull().unique()
                    t.column("created", .double).notNull()
                    t.column("lastUsed", .double)
                }
            }
        }
    }

    /// Creates a token and returns its secret (shown once).
    public func create(name: String) throws -> String {
        guard !name.isEmpty, name.count <= 64, name.allSatisfy({ $0.isLetter || $0.isNumber || "-_.@".contains($0) }) else {
            throw UnderstudyError(.invalidArgument, "token name '\(name)' must be 1–64 letters, digits, '-', '_', '.', '@'")
        }
        var random = SystemRandomNumberGenerator()
        let secret = Self.prefix + (0..<32).map { _ in String(format: "%02x", UInt8.random(in: 0...255, using: &random)) }.joined()
        try db.write { db in
            if try Bool.fetchOne(db, sql: "SELECT 1 FROM token WHERE name = ?", arguments: [name]) == true {
                throw UnderstudyError(.alreadyExists, "a token named '\(name)' exists; revoke it first or pick another name")
            }
            try db.execute(sql: "INSERT INTO token (name, digest, created) VALUES (?, ?, ?)",
                           arguments: [name, Self.digest(secret), Date().timeIntervalSince1970])
        }
        return secret
    }

    public func list() throws -> [Token] {
        try db.read { db in
            try Row.fetchAll(db, sql: "SELECT name, created, lastUsed FROM token ORDER BY name").map { row in
                Token(name: row["name"], created: Date(timeIntervalSince1970: row["created"]),
                      lastUsed: (row["lastUsed"] as Double?).map(Date.init(timeIntervalSince1970:)))
            }
        }
    }

    public func revoke(name: String) throws {
        let removed = try db.write { db in
            try db.execute(sql: "DELETE FROM token WHERE name = ?", arguments: [name])
            return db.changesCount
        }
        guard removed > 0 else { throw UnderstudyError(.notFound, "no token named '\(name)'") }
    }

    /// The token's name if `secret` is a valid token, and whether its last use is older than a
    /// minute and should be recorded (`recordUse`): a read only, so a request never waits for the
    /// catalog's write lock (held by a capture or gc) to be let in. Each token is due at most once
    /// a minute per process, however many requests arrive at once.
    public func authenticate(_ secret: String) throws -> (name: String, recordUse: Bool)? {
        guard secret.hasPrefix(Self.prefix) else { return nil }
        let digest = Self.digest(secret)
        let now = Date().timeIntervalSince1970
        guard let row = try db.read({ db in
            try Row.fetchOne(db, sql: "SELECT name, lastUsed FROM token WHERE digest = ?", arguments: [digest])
        }) else { return nil }
        let name: String = row["name"]
        let stored = (row["lastUsed"] as Double?) ?? 0
        let due = recorded.withLock { recorded in
            guard now - max(stored, recorded[name] ?? 0) > 60 else { return false }
            recorded[name] = now
            return true
        }
        return (name, due)
    }

    /// Records that a token was used now (best effort: a busy catalog only delays it).
    public func recordUse(_ name: String) {
        try? db.write { db in try db.execute(sql: "UPDATE token SET lastUsed = ? WHERE name = ?", arguments: [Date().timeIntervalSince1970, name]) }
    }

    static func digest(_ secret: String) -> String {
        SHA256.hash(data: Data(secret.utf8)).map { String(format: "%02x", $0) }.joined()
    }
}
