import Foundation
import GRDB
import LatchkeyCore
import LatchkeyTestSupport
import Synchronization
import Testing

@testable import LatchkeySQLite

@Suite("SQLite read connections")
struct ReadConnectionsTests {
    @Test("more threads than connections all read, at most one per connection, and see every acknowledged write")
    func busyConnections() async throws {
        let (path, directory) = try temporaryPath()
        defer { try? FileManager.default.removeItem(at: directory) }
        let store = try SQLiteStore(location: .file(path: path))
        let readers = try ReadConnections(path: path, count: 3, busyTimeout: 5)
        #expect(readers.count == 3)
        let inside = Atomic<Int>(0)
        let mostInside = Atomic<Int>(0)
        for round in 1...4 {
            _ = try await store.addUser(email: "user\(round)@example.com", passwordHash: "h", createdAt: Date())
            let counts = Mutex<[Int]>([])
            DispatchQueue.concurrentPerform(iterations: 12) { _ in
                let count = try? readers.read { db -> Int in
                    let now = inside.add(1, ordering: .relaxed).newValue
                    mostInside.max(now, ordering: .relaxed)
                    defer { inside.subtract(1, ordering: .relaxed) }
                    // Long enough that the other threads find every connection claimed.
                    Thread.sleep(forTimeInterval: 0.01)
                    return try Int.fetchOne(db, sql: "SELECT count(*) FROM users") ?? -1
                }
                counts.withLock { $0.append(count ?? -1) }
            }
            #expect(counts.withLock { $0 } == Array(repeating: round, count: 12))
        }
        #expect(mostInside.load(ordering: .relaxed) <= 3)
    }

    @Test("the connections cannot write")
    func readOnly() throws {
        let (path, directory) = try temporaryPath()
        defer { try? FileManager.default.removeItem(at: directory) }
        _ = try SQLiteStore(location: .file(path: path))
        let readers = try ReadConnections(path: path, count: 1, busyTimeout: 5)
        #expect(throws: DatabaseError.self) {
            try readers.read { db in
                try db.execute(sql: "INSERT INTO users (email, password_hash, created_at) VALUES ('a@b.c', 'h', 0)")
            }
        }
    }
}

@Suite("SQLite sessions carry their user's email")
struct SQLiteSessionEmailTests {
    @Test(
        "the migration copies each user's email into the sessions made before it, and a changed email reaches its sessions"
    )
    func migrationAndTrigger() async throws {
        let (path, directory) = try temporaryPath()
        defer { try? FileManager.default.removeItem(at: directory) }
        let digest = TokenDigest(of: "session made before the migration")
        // A database as the previous version left it: a user with a session, no email column.
        let old = try DatabaseQueue(path: path)
        try SQLiteStore.migrator.migrate(old, upTo: "v2-throttles")
        try await old.write { db in
            try db.execute(
                sql: "INSERT INTO users (email, password_hash, created_at) VALUES ('ada@example.com', 'h', 0)")
            try db.execute(
                sql:
                    "INSERT INTO sessions (token_hash, user_id, created_at, last_seen_at, expires_at) VALUES (?, 1, 0, 0, 9e9)",
                arguments: [digest.bytes])
        }
        try old.close()

        let store = try SQLiteStore(location: .file(path: path))
        let found = try await store.findSession(digest: digest)
        #expect(found?.user == SessionUser(id: 1, email: "ada@example.com"))

        let other = try DatabaseQueue(path: path)
        try await other.write { db in
            try db.execute(sql: "UPDATE users SET email = 'ada@lovelace.example' WHERE id = 1")
        }
        try other.close()
        let changed = try await store.findSession(digest: digest)
        #expect(changed?.user.email == "ada@lovelace.example")
    }
}

@Suite("SQLite files on disk")
struct SQLiteFileModeTests {
    /// The permission bits of a file.
    static func mode(_ path: String) throws -> Int {
        try #require(FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int)
    }

    @Test("the database, its -wal and -shm files, and backups are readable by their owner only, whatever the umask")
    func ownerOnly() async throws {
        let (path, directory) = try temporaryPath()
        defer { try? FileManager.default.removeItem(at: directory) }
        let previous = umask(0o022)
        defer { umask(previous) }
        let store = try SQLiteStore(location: .file(path: path))
        _ = try await store.addUser(email: "ada@example.com", passwordHash: "h", createdAt: Date())
        for file in [path, path + "-wal", path + "-shm"] {
            #expect(try Self.mode(file) == 0o600, "\(file)")
        }
        let backup = directory.appendingPathComponent("backup.sqlite").path
        try store.backup(to: backup)
        #expect(try Self.mode(backup) == 0o600)
        try store.close()
    }
}

@Suite("SQLite: the login's activity entry in the session's transaction")
struct SQLiteLoginActivityTests {
    @Test("an entry the database refuses is rolled back alone: the session is stored")
    func refusedEntryKeepsTheSession() async throws {
        let (path, directory) = try temporaryPath()
        defer { try? FileManager.default.removeItem(at: directory) }
        let store = try SQLiteStore(location: .file(path: path))
        let user = try await store.addUser(email: "ada@example.com", passwordHash: "h", createdAt: Date())
        let other = try DatabaseQueue(path: path)
        try await other.write { db in
            try db.execute(
                sql:
                    "CREATE TRIGGER refuse_activity BEFORE INSERT ON activity BEGIN SELECT RAISE(ABORT, 'refused'); END"
            )
        }
        try other.close()
        try await StoreContract.expectSessionWithoutItsRefusedEntry(store, userID: user.id, passwordHash: "h")
        try store.close()
    }
}
