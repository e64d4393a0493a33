import Foundation
import GRDB
import LatchkeyCore

/// The SQLite implementation of `AuthStore`, on GRDB: a `DatabasePool` (WAL, concurrent
/// readers, `synchronous=FULL` so that an acknowledged write is on disk) for a file, or a
/// `DatabaseQueue` for a throwaway in-memory database.
public final class SQLiteStore: AuthStore {
    /// Where the database lives.
    public enum Location: Sendable, Equatable {
        /// A file, created when missing.
        case file(path: String)
        /// A private in-memory database, gone when the process ends.
        case memory
    }

    private let writer: any DatabaseWriter
    /// The connections every read of a file database runs on; nil in memory, where the one
    /// connection of the `DatabaseQueue` serves reads too.
    private let readers: ReadConnections?

    /// Opens (creating when missing) the database and brings its schema up to date.
    /// Migrations only add; nothing is ever dropped.
    /// - Parameter location: The file or memory.
    /// - Throws: `StoreError.unavailable` when the file cannot be opened or migrated.
    public init(location: Location) throws {
        var configuration = Configuration()
        configuration.foreignKeysEnabled = true
        configuration.busyMode = .timeout(5)
        do {
            switch location {
            case .file(let path):
                let pool = try DatabasePool(path: path, configuration: configuration)
                // GRDB sets synchronous=NORMAL when it enables WAL, after `prepareDatabase`;
                // FULL on the one writer connection makes every acknowledged commit durable.
                try pool.writeWithoutTransaction { db in try db.execute(sql: "PRAGMA synchronous = FULL") }
                writer = pool
            case .memory:
                writer = try DatabaseQueue(configuration: configuration)
            }
            try Self.migrator.migrate(writer)
            // Opened once the schema is current. One connection per thread that can read at once
            // (the cooperative pool's and the event loops'), and two more for threads outside them.
            if case .file(let path) = location {
                readers = try ReadConnections(
                    path: path, count: ProcessInfo.processInfo.activeProcessorCount + 2, busyTimeout: 5)
            } else {
                readers = nil
            }
        } catch {
            throw Self.translate(error)
        }
    }

    /// The names of the migrations that have run, oldest first.
    /// - Returns: The applied migration identifiers.
    /// - Throws: `StoreError.unavailable` when the database cannot be read.
    public func appliedMigrations() throws -> [String] {
        do {
            return try writer.read { db in try Self.migrator.appliedMigrations(db) }
        } catch {
            throw Self.translate(error)
        }
    }

    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1-users-sessions-reset-tokens") { db in
            try db.execute(
                sql: """
                    CREATE TABLE users (
                        id INTEGER PRIMARY KEY AUTOINCREMENT,
                        email TEXT NOT NULL,
                        password_hash TEXT NOT NULL,
                        created_at DOUBLE NOT NULL
                    );
                    CREATE UNIQUE INDEX users_email ON users(email);
                    CREATE TABLE sessions (
                        token_hash BLOB PRIMARY KEY NOT NULL,
                        user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
                        created_at DOUBLE NOT NULL,
                        last_seen_at DOUBLE NOT NULL,
                        expires_at DOUBLE NOT NULL
                    ) WITHOUT ROWID;
                    CREATE INDEX sessions_user_id ON sessions(user_id);
                    CREATE INDEX sessions_expires_at ON sessions(expires_at);
                    CREATE INDEX sessions_last_seen_at ON sessions(last_seen_at);
                    CREATE TABLE reset_tokens (
                        user_id INTEGER PRIMARY KEY NOT NULL REFERENCES users(id) ON DELETE CASCADE,
                        token_hash BLOB NOT NULL,
                        created_at DOUBLE NOT NULL,
                        expires_at DOUBLE NOT NULL
                    );
                    CREATE INDEX reset_tokens_expires_at ON reset_tokens(expires_at);
                    """
            )
        }
        migrator.registerMigration("v2-throttles") { db in
            try db.execute(
                sql: """
                    CREATE TABLE throttles (
                        scope TEXT NOT NULL,
                        subject TEXT NOT NULL,
                        count INTEGER NOT NULL,
                        first_at DOUBLE NOT NULL,
                        last_at DOUBLE NOT NULL,
                        locked_until DOUBLE,
                        lock_count INTEGER NOT NULL,
                        PRIMARY KEY (scope, subject)
                    ) WITHOUT ROWID;
                    CREATE INDEX throttles_last_at ON throttles(last_at);
                    """
            )
        }
        // A session carries its user's email, so that a session check reads one row of one
        // table, whose size does not grow with the number of users. Emails never change; the
        // trigger keeps the copies right should one ever be changed in SQL.
        migrator.registerMigration("v3-sessions-carry-email") { db in
            try db.execute(
                sql: """
                    ALTER TABLE sessions ADD COLUMN email TEXT NOT NULL DEFAULT '';
                    UPDATE sessions SET email = (SELECT email FROM users WHERE users.id = sessions.user_id);
                    CREATE TRIGGER users_email_to_sessions AFTER UPDATE OF email ON users
                    BEGIN
                        UPDATE sessions SET email = NEW.email WHERE user_id = NEW.id;
                    END;
                    """
            )
        }
        return migrator
    }

    // MARK: Users

    /// Inserts a user; the unique index `users_email` turns a taken email into `StoreError.duplicateEmail`.
    public func addUser(email: String, passwordHash: String, createdAt: Date) async throws -> User {
        try StoreError.checkText(email, passwordHash)
        return try await write { db in
            try db.execute(
                sql: "INSERT INTO users (email, password_hash, created_at) VALUES (?, ?, ?)",
                arguments: [email, passwordHash, createdAt.timeIntervalSince1970]
            )
            return User(id: db.lastInsertedRowID, email: email, passwordHash: passwordHash, createdAt: createdAt)
        }
    }

    /// Finds a user by id (primary key) or email (unique index), on the reader pool.
    public func findUser(by lookup: UserLookup) async throws -> User? {
        // No stored email holds a NUL, and SQLite would compare only up to it.
        if case .email(let email) = lookup, email.utf8.contains(0) { return nil }
        return try readHere { db in
            let row: Row?
            switch lookup {
            case .id(let id):
                row = try Row.fetchOne(
                    db.cachedStatement(sql: "SELECT id, email, password_hash, created_at FROM users WHERE id = ?"),
                    arguments: [id]
                )
            case .email(let email):
                row = try Row.fetchOne(
                    db.cachedStatement(sql: "SELECT id, email, password_hash, created_at FROM users WHERE email = ?"),
                    arguments: [email]
                )
            }
            return row.map(Self.user(from:))
        }
    }

    /// Updates a user in one write transaction; `StoreError.notFound` when the id is unknown.
    public func updateUser(id: Int64, _ update: UserUpdate) async throws {
        if let hash = update.passwordHash { try StoreError.checkText(hash) }
        return try await write { db in
            guard try Bool.fetchOne(db, sql: "SELECT 1 FROM users WHERE id = ?", arguments: [id]) == true else {
                throw StoreError.notFound
            }
            if let hash = update.passwordHash {
                try db.execute(sql: "UPDATE users SET password_hash = ? WHERE id = ?", arguments: [hash, id])
            }
        }
    }

    /// Replaces the hash only while it is still `old`, in one statement.
    public func replacePasswordHash(userID: Int64, from old: String, to new: String) async throws -> Bool {
        try StoreError.checkText(new)
        if old.utf8.contains(0) { return false }
        return try await write { db in
            try db.execute(
                sql: "UPDATE users SET password_hash = ? WHERE id = ? AND password_hash = ?",
                arguments: [new, userID, old])
            return db.changesCount == 1
        }
    }

    // MARK: Sessions

    /// Inserts the session with `INSERT … SELECT` from the user's row, so that it is stored only
    /// while the password hash is unchanged.
    public func addSession(_ session: Session, ifPasswordHash passwordHash: String) async throws -> Bool {
        // No stored hash holds a NUL (SQLite would compare only up to it), so none can match.
        if passwordHash.utf8.contains(0) { return false }
        return try await write { db in
            try db.cachedStatement(
                sql: """
                    INSERT INTO sessions (token_hash, user_id, email, created_at, last_seen_at, expires_at)
                    SELECT ?, id, email, ?, ?, ? FROM users WHERE id = ? AND password_hash = ?
                    """
            ).execute(arguments: [
                session.tokenDigest.bytes, session.createdAt.timeIntervalSince1970,
                session.lastSeenAt.timeIntervalSince1970, session.expiresAt.timeIntervalSince1970,
                session.userID, passwordHash,
            ])
            return db.changesCount == 1
        }
    }

    /// Reads a session, with its user's email, by its primary key, on the calling thread: the
    /// profile read is the service's hottest path, and one indexed statement takes
    /// microseconds, less than the hop to another thread and back (see docs/benchmarks.md).
    public func findSession(digest: TokenDigest) async throws -> (session: Session, user: SessionUser)? {
        try readHere { db in
            let statement = try db.cachedStatement(
                sql: "SELECT user_id, created_at, last_seen_at, expires_at, email FROM sessions WHERE token_hash = ?"
            )
            // A cursor's row is read in place, without copying the row first.
            let rows = try Row.fetchCursor(statement, arguments: [digest.bytes])
            guard let row = try rows.next() else { return nil }
            let userID: Int64 = row[0]
            let session = Session(
                tokenDigest: digest,
                userID: userID,
                createdAt: Date(timeIntervalSince1970: row[1]),
                lastSeenAt: Date(timeIntervalSince1970: row[2]),
                expiresAt: Date(timeIntervalSince1970: row[3])
            )
            return (session, SessionUser(id: userID, email: row[4]))
        }
    }

    /// Updates the session's `last_seen_at`.
    public func touchSession(digest: TokenDigest, lastSeenAt: Date) async throws {
        return try await write { db in
            try db.cachedStatement(sql: "UPDATE sessions SET last_seen_at = ? WHERE token_hash = ?")
                .execute(arguments: [lastSeenAt.timeIntervalSince1970, digest.bytes])
        }
    }

    /// Deletes one session; returns whether a row went.
    public func deleteSession(digest: TokenDigest) async throws -> Bool {
        return try await write { db in
            try db.execute(sql: "DELETE FROM sessions WHERE token_hash = ?", arguments: [digest.bytes])
            return db.changesCount > 0
        }
    }

    /// Deletes every session of a user; returns how many went.
    public func deleteSessions(userID: Int64) async throws -> Int {
        return try await write { db in
            try db.execute(sql: "DELETE FROM sessions WHERE user_id = ?", arguments: [userID])
            return db.changesCount
        }
    }

    // MARK: Reset tokens

    /// Stores the user's reset token, replacing an earlier one (one row per user).
    public func setResetToken(_ token: ResetToken) async throws {
        return try await write { db in
            try db.execute(
                sql: """
                    INSERT INTO reset_tokens (user_id, token_hash, created_at, expires_at) VALUES (?, ?, ?, ?)
                    ON CONFLICT(user_id) DO UPDATE SET
                        token_hash = excluded.token_hash,
                        created_at = excluded.created_at,
                        expires_at = excluded.expires_at
                    """,
                arguments: [
                    token.userID, token.tokenDigest.bytes, token.createdAt.timeIntervalSince1970,
                    token.expiresAt.timeIntervalSince1970,
                ]
            )
        }
    }

    /// Reads the user's pending reset token.
    public func findResetToken(userID: Int64) async throws -> ResetToken? {
        try readHere { db in
            guard
                let row = try Row.fetchOne(
                    db,
                    sql: "SELECT token_hash, created_at, expires_at FROM reset_tokens WHERE user_id = ?",
                    arguments: [userID]
                )
            else { return nil }
            return ResetToken(
                userID: userID,
                tokenDigest: TokenDigest(bytes: row[0]),
                createdAt: Date(timeIntervalSince1970: row[1]),
                expiresAt: Date(timeIntervalSince1970: row[2])
            )
        }
    }

    /// Consumes the token, stores the new hash and deletes the user's sessions in one transaction.
    public func resetPassword(userID: Int64, digest: TokenDigest, passwordHash: String, now: Date) async throws -> Bool
    {
        try StoreError.checkText(passwordHash)
        return try await write { db in
            // The delete is the claim: of two concurrent resets with one token, one deletes the row.
            try db.execute(
                sql: "DELETE FROM reset_tokens WHERE user_id = ? AND token_hash = ? AND expires_at > ?",
                arguments: [userID, digest.bytes, now.timeIntervalSince1970]
            )
            guard db.changesCount == 1 else { return false }
            try db.execute(sql: "UPDATE users SET password_hash = ? WHERE id = ?", arguments: [passwordHash, userID])
            try db.execute(sql: "DELETE FROM sessions WHERE user_id = ?", arguments: [userID])
            return true
        }
    }

    /// Deletes sessions past their absolute or idle expiry and expired reset tokens.
    public func purgeExpired(now: Date, idleCutoff: Date) async throws -> PurgeResult {
        return try await write { db in
            try db.execute(
                sql: "DELETE FROM sessions WHERE expires_at <= ? OR last_seen_at <= ?",
                arguments: [now.timeIntervalSince1970, idleCutoff.timeIntervalSince1970]
            )
            let sessions = db.changesCount
            try db.execute(
                sql: "DELETE FROM reset_tokens WHERE expires_at <= ?", arguments: [now.timeIntervalSince1970])
            return PurgeResult(sessions: sessions, resetTokens: db.changesCount)
        }
    }

    // MARK: Operators

    /// Lists users by email with their live session counts, on the reader pool.
    public func listUsers(after: String?, limit: Int, now: Date, idleCutoff: Date) async throws -> [UserSummary] {
        try readHere { db in
            let rows = try Row.fetchAll(
                db,
                sql: """
                    SELECT u.id, u.email, u.created_at,
                        (SELECT count(*) FROM sessions s
                         WHERE s.user_id = u.id AND s.expires_at > ? AND s.last_seen_at > ?)
                    FROM users u WHERE u.email > ? ORDER BY u.email LIMIT ?
                    """,
                arguments: [now.timeIntervalSince1970, idleCutoff.timeIntervalSince1970, after ?? "", limit]
            )
            return rows.map {
                UserSummary(id: $0[0], email: $0[1], createdAt: Date(timeIntervalSince1970: $0[2]), liveSessions: $0[3])
            }
        }
    }

    /// Deletes a user; sessions and the reset token go with it (`ON DELETE CASCADE`).
    public func deleteUser(id: Int64) async throws -> Bool {
        try await write { db in
            try db.execute(sql: "DELETE FROM users WHERE id = ?", arguments: [id])
            return db.changesCount == 1
        }
    }

    /// Adds many users in one write transaction; taken emails are skipped.
    public func addUsers(_ users: [NewUser]) async throws -> [Bool] {
        for user in users { try StoreError.checkText(user.email, user.passwordHash) }
        return try await write { db in
            let statement = try db.makeStatement(
                sql:
                    "INSERT INTO users (email, password_hash, created_at) VALUES (?, ?, ?) ON CONFLICT(email) DO NOTHING"
            )
            return try users.map { user in
                try statement.execute(arguments: [user.email, user.passwordHash, user.createdAt.timeIntervalSince1970])
                return db.changesCount == 1
            }
        }
    }

    /// Adds many sessions in one write transaction; none when one of their users is missing.
    public func addSessions(_ sessions: [Session]) async throws {
        try await write { db in
            let statement = try db.makeStatement(
                sql: """
                    INSERT INTO sessions (token_hash, user_id, email, created_at, last_seen_at, expires_at)
                    SELECT ?, id, email, ?, ?, ? FROM users WHERE id = ?
                    """)
            for session in sessions {
                try statement.execute(arguments: [
                    session.tokenDigest.bytes, session.createdAt.timeIntervalSince1970,
                    session.lastSeenAt.timeIntervalSince1970, session.expiresAt.timeIntervalSince1970,
                    session.userID,
                ])
                guard db.changesCount == 1 else { throw StoreError.notFound }
            }
        }
    }

    /// Copies the database, consistently, to a new file while it is in use (SQLite's online
    /// backup, through GRDB).
    /// - Parameter path: The new file; it must not exist.
    /// - Throws: `StoreError.unavailable` when the copy fails.
    public func backup(to path: String) throws {
        do {
            let destination = try DatabaseQueue(path: path)
            try writer.backup(to: destination)
            try destination.close()
        } catch {
            throw Self.translate(error)
        }
    }

    /// The migrations that have not run yet on a database, without running them or creating
    /// the file.
    /// - Parameter location: The database.
    /// - Returns: Their identifiers, in order.
    /// - Throws: `StoreError.unavailable` when the file cannot be read.
    public static func pendingMigrations(at location: Location) throws -> [String] {
        guard case .file(let path) = location, FileManager.default.fileExists(atPath: path) else {
            return migrator.migrations
        }
        do {
            var configuration = Configuration()
            configuration.readonly = true
            let queue = try DatabaseQueue(path: path, configuration: configuration)
            defer { try? queue.close() }
            return try queue.read { db in
                let applied = try migrator.appliedIdentifiers(db)
                return migrator.migrations.filter { !applied.contains($0) }
            }
        } catch {
            throw translate(error)
        }
    }

    // MARK: Throttles

    /// Reads a throttle record.
    public func throttleRecord(_ key: ThrottleKey) async throws -> ThrottleRecord? {
        try readHere { db in try Self.throttle(db, key) }
    }

    /// Reads, changes and writes a throttle record in one write transaction: SQLite's single
    /// writer applies concurrent changes one after the other.
    public func updateThrottleRecord(
        _ key: ThrottleKey, _ update: @escaping @Sendable (ThrottleRecord?) -> ThrottleRecord?
    ) async throws -> ThrottleRecord? {
        try StoreError.checkText(key.subject)
        return try await write { db in
            guard let record = update(try Self.throttle(db, key)) else {
                try db.execute(
                    sql: "DELETE FROM throttles WHERE scope = ? AND subject = ?",
                    arguments: [key.scope.rawValue, key.subject])
                return nil
            }
            try db.execute(
                sql: """
                    INSERT INTO throttles (scope, subject, count, first_at, last_at, locked_until, lock_count)
                    VALUES (?, ?, ?, ?, ?, ?, ?)
                    ON CONFLICT(scope, subject) DO UPDATE SET
                        count = excluded.count, first_at = excluded.first_at, last_at = excluded.last_at,
                        locked_until = excluded.locked_until, lock_count = excluded.lock_count
                    """,
                arguments: [
                    key.scope.rawValue, key.subject, record.count, record.firstAt.timeIntervalSince1970,
                    record.lastAt.timeIntervalSince1970, record.lockedUntil?.timeIntervalSince1970, record.lockCount,
                ]
            )
            return record
        }
    }

    /// Deletes quiet throttle records whose wait has ended.
    public func purgeThrottles(lastBefore: Date, now: Date) async throws -> Int {
        try await write { db in
            try db.execute(
                sql: "DELETE FROM throttles WHERE last_at <= ? AND (locked_until IS NULL OR locked_until <= ?)",
                arguments: [lastBefore.timeIntervalSince1970, now.timeIntervalSince1970])
            return db.changesCount
        }
    }

    private static func throttle(_ db: Database, _ key: ThrottleKey) throws -> ThrottleRecord? {
        guard
            let row = try Row.fetchOne(
                db.cachedStatement(
                    sql: """
                        SELECT count, first_at, last_at, locked_until, lock_count FROM throttles
                        WHERE scope = ? AND subject = ?
                        """),
                arguments: [key.scope.rawValue, key.subject])
        else { return nil }
        let lockedUntil: Double? = row[3]
        return ThrottleRecord(
            count: row[0],
            firstAt: Date(timeIntervalSince1970: row[1]),
            lastAt: Date(timeIntervalSince1970: row[2]),
            lockedUntil: lockedUntil.map(Date.init(timeIntervalSince1970:)),
            lockCount: row[4]
        )
    }

    /// Reads one row from the database.
    public func checkAvailable() async throws {
        _ = try readHere { db in try Int.fetchOne(db, sql: "SELECT 1") }
    }

    // MARK: Helpers

    private static func user(from row: Row) -> User {
        User(id: row[0], email: row[1], passwordHash: row[2], createdAt: Date(timeIntervalSince1970: row[3]))
    }

    /// Runs one statement on a read-only connection on the calling thread, without the read
    /// transaction around it (a single statement reads one consistent snapshot by itself).
    ///
    /// Every read of this store goes through here, never through an awaited read: a connection
    /// is then only ever held by a thread that is running, so a thread waiting for one always
    /// gets it. Mixing the two could deadlock: awaited reads hold connections while their tasks
    /// wait for a cooperative thread, and blocked threads wait for those connections. Every read
    /// here is one indexed statement, microseconds long.
    private func readHere<T>(_ body: (Database) throws -> T) throws -> T {
        do {
            if let readers { return try readers.read(body) }
            return try writer.unsafeRead(body)
        } catch {
            throw Self.translate(error)
        }
    }

    private func write<T: Sendable>(_ body: @escaping @Sendable (Database) throws -> T) async throws -> T {
        do {
            return try await writer.write(body)
        } catch {
            throw Self.translate(error)
        }
    }

    /// Turns GRDB's errors into the store errors every store shares.
    static func translate(_ error: any Error) -> StoreError {
        if let error = error as? StoreError { return error }
        guard let error = error as? DatabaseError else {
            return .unavailable(String(describing: error))
        }
        switch error.extendedResultCode {
        case .SQLITE_CONSTRAINT_UNIQUE where error.message?.contains("users.email") == true:
            return .duplicateEmail
        case .SQLITE_CONSTRAINT_FOREIGNKEY:
            return .notFound
        default:
            return .unavailable("SQLite error \(error.resultCode.rawValue): \(error.message ?? "no message")")
        }
    }
}

extension SQLiteStore {
    /// Closes the database connections; every later call fails with `StoreError.unavailable`.
    /// - Throws: `StoreError.unavailable` when a connection cannot be closed.
    public func close() throws {
        do {
            try readers?.close()
            if let pool = writer as? DatabasePool {
                try pool.close()
            } else if let queue = writer as? DatabaseQueue {
                try queue.close()
            }
        } catch {
            throw Self.translate(error)
        }
    }

    /// The durability settings of a writer connection, for operators and tests.
    /// - Returns: The journal mode and the `synchronous` level (2 is FULL).
    /// - Throws: `StoreError.unavailable` when the database cannot be read.
    public func pragmas() throws -> (journalMode: String, synchronous: Int) {
        do {
            return try writer.write { db in
                let mode = try String.fetchOne(db, sql: "PRAGMA journal_mode") ?? ""
                let synchronous = try Int.fetchOne(db, sql: "PRAGMA synchronous") ?? -1
                return (mode, synchronous)
            }
        } catch {
            throw Self.translate(error)
        }
    }
}
