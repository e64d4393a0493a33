import Foundation
import GRDB
import LatchkeyCore
import LatchkeyTestSupport
import Logging
import PostgresNIO
import Testing

@testable import LatchkeyPostgres
@testable import LatchkeySQLite

@Suite("Migrations")
struct MigrationTests {
    @Test("both stores have the same migrations, in the same order, by identifier")
    func sameMigrations() {
        #expect(!SQLiteStore.migrationIdentifiers.isEmpty)
        #expect(SQLiteStore.migrationIdentifiers == PostgresStore.migrationIdentifiers)
        #expect(Set(SQLiteStore.migrationIdentifiers).count == SQLiteStore.migrationIdentifiers.count)
    }

    @Test("a new SQLite database applies every migration, in order")
    func sqliteAppliesAll() throws {
        let store = try SQLiteStore(location: .memory)
        #expect(try store.appliedMigrations() == SQLiteStore.migrationIdentifiers)
    }
}

/// The addresses stored before canonical forms, and what migration `v4-canonical-emails` must
/// make of them on every store.
enum CanonicalEmailMigration {
    static let before: [(email: String, password: String)] = [
        ("l\u{E9}a@example.com", "nfc-password"),  // 1: NFC; collides with 2
        ("le\u{301}a@example.com", "nfd-password"),  // 2: NFD
        ("anna@b\u{FC}cher.example", "anna-password"),  // 3: unique; becomes its A-label
        ("bob@example.org", "bob-password"),  // 4: already canonical
        ("\"quoted\"@example.org", "quoted-password"),  // 5: invalid today
    ]

    /// Checks a migrated store: the unique address rewritten, the others kept and listed, and
    /// every account still reachable with its old spelling through `Auth`.
    static func check(_ store: any AdminStore, ids: [Int64]) async throws {
        #expect(try await store.findUser(by: .id(ids[2]))?.email == "anna@xn--bcher-kva.example")
        #expect(try await store.findUser(by: .id(ids[3]))?.email == "bob@example.org")
        #expect(
            try await store.findUser(by: .id(ids[0]))?.email.utf8.elementsEqual("l\u{E9}a@example.com".utf8) == true)
        #expect(
            try await store.findUser(by: .id(ids[1]))?.email.utf8.elementsEqual("le\u{301}a@example.com".utf8) == true)
        let conflicts = try await store.emailConflicts()
        #expect(conflicts.map(\.userID) == [ids[4], ids[0], ids[1]])
        #expect(conflicts.map(\.canonical) == [nil, "l\u{E9}a@example.com", "l\u{E9}a@example.com"])
        #expect(try await store.hasEmailConflict(canonical: "l\u{E9}a@example.com"))
        #expect(try await store.hasEmailConflict(userID: ids[4]))
        #expect(try await !store.hasEmailConflict(userID: ids[2]))
        let hasher = FastHasher()
        let auth = try await Auth(store: store, hasher: hasher, logger: CapturedLog().logger)
        for (index, account) in before.enumerated() {
            #expect(try await auth.validLogin(email: account.email, password: account.password).id == ids[index])
        }
        #expect(try await auth.validLogin(email: "ANNA@xn--bcher-kva.example", password: "anna-password").id == ids[2])
        // Resolving a group: rename one, and the canonical form names the other alone.
        #expect(try await auth.renameUser(id: ids[1], to: "lea.d@example.com") == "lea.d@example.com")
        #expect(try await auth.deleteUser(id: ids[4]))
        #expect(try await store.emailConflicts().map(\.userID) == [ids[0]])
    }
}

@Suite("Migration v4: stored addresses take their canonical forms")
struct CanonicalEmailMigrationTests {
    @Test("SQLite: unique addresses rewritten, collisions and invalid ones kept, listed and still logging in")
    func sqlite() async throws {
        let (path, directory) = try temporaryPath()
        defer { try? FileManager.default.removeItem(at: directory) }
        let queue = try DatabaseQueue(path: path)
        try SQLiteStore.migrator.migrate(queue, upTo: "v3-sessions-carry-email")
        let hasher = FastHasher()
        var ids: [Int64] = []
        for account in CanonicalEmailMigration.before {
            let hash = try await hasher.hash(account.password)
            try await queue.write { db in
                try db.execute(
                    sql: "INSERT INTO users (email, password_hash, created_at) VALUES (?, ?, 0)",
                    arguments: [account.email, hash])
            }
            ids.append(try await queue.read { db in db.lastInsertedRowID })
        }
        try queue.close()
        let store = try SQLiteStore(location: .file(path: path))
        #expect(try store.appliedMigrations() == SQLiteStore.migrationIdentifiers)
        try await CanonicalEmailMigration.check(store, ids: ids)
        try store.close()
    }

    @Test(
        "PostgreSQL: the same data step, in the migration's transaction",
        .enabled(if: PostgresTestServer.isConfigured, PostgresTestServer.skipReason))
    func postgres() async throws {
        try await PostgresTestServer.withDatabase { configuration in
            let store = PostgresStore(configuration: configuration, logger: CapturedLog().logger)
            let hasher = FastHasher()
            var hashes: [String] = []
            for account in CanonicalEmailMigration.before { hashes.append(try await hasher.hash(account.password)) }
            let ids = try await store.withOwnClient { client in
                try await client.withConnection { connection in
                    let logger = CapturedLog().logger
                    _ = try await PostgresStore.applyMigrations(
                        on: connection, logger: logger, upTo: "v3-sessions-carry-email")
                    var ids: [Int64] = []
                    for (account, hash) in zip(CanonicalEmailMigration.before, hashes) {
                        let rows = try await connection.query(
                            "INSERT INTO users (email, password_hash, created_at) VALUES (\(account.email), \(hash), 0) RETURNING id",
                            logger: logger
                        ).collect()
                        ids.append(try rows[0].decode(Int64.self))
                    }
                    return ids
                }
            }
            try await store.withRunning {
                #expect(try await store.migrate() == PostgresStore.migrationIdentifiers)
                try await CanonicalEmailMigration.check(store, ids: ids)
            }
        }
    }
}

@Suite("Migration v6: sessions get public ids")
struct SessionPublicIDMigrationTests {
    /// Checks the sessions made before the migration: each has a well-formed public id of its own,
    /// no address or agent, and still names its user.
    static func check(_ store: any AdminStore, userID: Int64, digests: [TokenDigest]) async throws {
        let listed = try await store.listSessions(
            userID: userID, now: Date(timeIntervalSince1970: 10), idleCutoff: Date(timeIntervalSince1970: 0))
        #expect(Set(listed.map(\.tokenDigest)) == Set(digests))
        #expect(listed.allSatisfy { Session.isWellFormedPublicID($0.publicID) && $0.ip == nil && $0.userAgent == nil })
        #expect(Set(listed.map(\.publicID)).count == digests.count)
        for digest in digests {
            #expect(try await store.findSession(digest: digest)?.user.id == userID)
        }
    }

    @Test("SQLite: existing sessions get random public ids and no address or agent")
    func sqlite() async throws {
        let (path, directory) = try temporaryPath()
        defer { try? FileManager.default.removeItem(at: directory) }
        let queue = try DatabaseQueue(path: path)
        try SQLiteStore.migrator.migrate(queue, upTo: "v5-throttle-pending-attempts")
        let digests = (0..<3).map { TokenDigest(of: "before-\($0)") }
        let userID = try await queue.write { db in
            try db.execute(
                sql: "INSERT INTO users (email, password_hash, created_at) VALUES ('ada@example.com', 'h', 0)")
            let id = db.lastInsertedRowID
            for digest in digests {
                try db.execute(
                    sql: """
                        INSERT INTO sessions (token_hash, user_id, email, created_at, last_seen_at, expires_at)
                        VALUES (?, ?, 'ada@example.com', 1, 1, 100)
                        """,
                    arguments: [digest.bytes, id])
            }
            return id
        }
        try queue.close()
        let store = try SQLiteStore(location: .file(path: path))
        #expect(try store.appliedMigrations() == SQLiteStore.migrationIdentifiers)
        try await Self.check(store, userID: userID, digests: digests)
        try store.close()
        // A session an older binary inserts after the migration, without the new columns.
        let later = TokenDigest(of: "inserted-by-an-older-binary")
        let reopened = try DatabaseQueue(path: path)
        try await reopened.write { db in
            try db.execute(
                sql: """
                    INSERT INTO sessions (token_hash, user_id, email, created_at, last_seen_at, expires_at)
                    VALUES (?, ?, 'ada@example.com', 1, 1, 100)
                    """,
                arguments: [later.bytes, userID])
        }
        try reopened.close()
        let upgraded = try SQLiteStore(location: .file(path: path))
        try await Self.check(upgraded, userID: userID, digests: digests + [later])
        try upgraded.close()
    }

    @Test(
        "PostgreSQL: existing sessions get random public ids and no address or agent",
        .enabled(if: PostgresTestServer.isConfigured, PostgresTestServer.skipReason))
    func postgres() async throws {
        try await PostgresTestServer.withDatabase { configuration in
            let store = PostgresStore(configuration: configuration, logger: CapturedLog().logger)
            let digests = (0..<3).map { TokenDigest(of: "before-\($0)") }
            let userID = try await store.withOwnClient { client in
                try await client.withConnection { connection in
                    let logger = CapturedLog().logger
                    _ = try await PostgresStore.applyMigrations(
                        on: connection, logger: logger, upTo: "v5-throttle-pending-attempts")
                    let rows = try await connection.query(
                        "INSERT INTO users (email, password_hash, created_at) VALUES ('ada@example.com', 'h', 0) RETURNING id",
                        logger: logger
                    ).collect()
                    let id = try rows[0].decode(Int64.self)
                    for digest in digests {
                        let token = digest.bytes
                        try await connection.query(
                            """
                            INSERT INTO sessions (token_hash, user_id, email, created_at, last_seen_at, expires_at)
                            VALUES (\(token), \(id), 'ada@example.com', 1, 1, 100)
                            """,
                            logger: logger)
                    }
                    return id
                }
            }
            try await store.withRunning {
                #expect(try await store.migrate() == PostgresStore.migrationIdentifiers)
                try await Self.check(store, userID: userID, digests: digests)
                // A session an older binary inserts after the migration, without the new columns.
                let later = TokenDigest(of: "inserted-by-an-older-binary")
                try await store.withOwnClient { client in
                    let token = later.bytes
                    try await client.query(
                        """
                        INSERT INTO sessions (token_hash, user_id, email, created_at, last_seen_at, expires_at)
                        VALUES (\(token), \(userID), 'ada@example.com', 1, 1, 100)
                        """,
                        logger: CapturedLog().logger)
                }
                try await Self.check(store, userID: userID, digests: digests + [later])
            }
        }
    }
}
