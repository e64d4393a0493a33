import Foundation
import LatchkeyCore
import Logging
import PostgresNIO
import ServiceLifecycle
import Synchronization

/// The PostgreSQL implementation of `AuthStore`, on PostgresNIO's pooled `PostgresClient`, for
/// several nodes sharing one database.
///
/// The store is a `Service`: `run()` runs the connection pool, and must be running before any
/// call (`withRunning(_:)` does both for tools and tests). Two things PostgresNIO leaves to its
/// user are built here:
/// - a deadline: a call that cannot get an answer within `PostgresConfiguration.deadline` fails
///   with `StoreError.unavailable` instead of waiting (the pool has no acquire timeout);
/// - a prompt reconnect: after a connection failure the pool backs off for up to a minute, so
///   the store tries a fresh client every `reconnectInterval` and swaps it in once it answers.
public final class PostgresStore: AuthStore, Service {
    /// The settings the store was made with.
    public let configuration: PostgresConfiguration
    private let logger: Logger
    private let state: Mutex<State>
    private let failures: AsyncStream<Void>
    private let failureSignal: AsyncStream<Void>.Continuation

    private struct State {
        var client: PostgresClient
        var runner: Task<Void, Never>?
        var generation = 0
        var healthy = true
    }

    /// Creates the store; nothing connects until `run()`.
    /// - Parameters:
    ///   - configuration: Where the database is and how to use it.
    ///   - logger: Where connection trouble is reported (never with a secret).
    public init(configuration: PostgresConfiguration, logger: Logger = Logger(label: "latchkey.postgres")) {
        self.configuration = configuration
        self.logger = logger
        self.state = Mutex(State(client: PostgresClient(configuration: configuration.clientConfiguration)))
        (failures, failureSignal) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
    }

    // MARK: Running

    /// Runs the connection pool and the reconnect loop until cancelled or shut down gracefully.
    public func run() async throws {
        let first = state.withLock { $0.client }
        let runner = Task { await first.run() }
        state.withLock { $0.runner = runner }
        await cancelWhenGracefulShutdown {
            await self.superviseConnections()
        }
        let last = state.withLock { state in
            defer { state.runner = nil }
            return state.runner
        }
        last?.cancel()
        await last?.value
    }

    /// Runs `body` while the store runs, then stops the store.
    /// - Parameter body: The work that needs the database.
    /// - Returns: What `body` returns.
    /// - Throws: What `body` throws.
    public func withRunning<T: Sendable>(_ body: @Sendable () async throws -> T) async throws -> T {
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await self.run() }
            do {
                let result = try await body()
                group.cancelAll()
                return result
            } catch {
                group.cancelAll()
                throw error
            }
        }
    }

    /// Waits for failures; after one, tries a fresh client until one answers or the current one
    /// recovers by itself.
    private func superviseConnections() async {
        for await _ in failures {
            while !Task.isCancelled, !state.withLock({ $0.healthy }) {
                do {
                    try await Task.sleep(for: configuration.reconnectInterval)
                } catch {
                    return
                }
                if state.withLock({ $0.healthy }) { break }
                let candidate = PostgresClient(configuration: configuration.clientConfiguration)
                let runner = Task { await candidate.run() }
                do {
                    try await Deadline.run(configuration.deadline) {
                        _ = try await candidate.query("SELECT 1", logger: self.logger).collect()
                    }
                } catch {
                    runner.cancel()
                    await runner.value
                    continue
                }
                let old = state.withLock { state in
                    defer {
                        state.client = candidate
                        state.runner = runner
                        state.generation += 1
                        state.healthy = true
                    }
                    return state.runner
                }
                // Closing the old pool fails the calls still queued on it: give them their
                // deadline first (they may yet be served if it reconnects meanwhile).
                let grace = configuration.deadline
                Task {
                    try? await Task.sleep(for: grace)
                    old?.cancel()
                }
                logger.notice(
                    "reconnected to PostgreSQL", metadata: ["database": "\(configuration.redactedDescription)"])
            }
        }
    }

    /// Returns when the database answers a trivial query within the deadline.
    public func checkAvailable() async throws {
        try await call { client in _ = try await client.query("SELECT 1", logger: self.logger).collect() }
    }

    /// Runs one call on the current client within the deadline and translates its errors. A
    /// connection failure or a missed deadline starts the reconnect loop.
    private func call<T: Sendable>(_ body: @escaping @Sendable (PostgresClient) async throws -> T) async throws -> T {
        let (client, generation) = state.withLock { ($0.client, $0.generation) }
        do {
            let result = try await Deadline.run(configuration.deadline) { try await body(client) }
            state.withLock { state in
                if state.generation == generation { state.healthy = true }
            }
            return result
        } catch {
            let (storeError, connectionLost) = Self.translate(error)
            if connectionLost {
                // A failure on a client that has been replaced says nothing about the new one.
                let wasHealthy = state.withLock { state in
                    guard state.generation == generation else { return false }
                    defer { state.healthy = false }
                    return state.healthy
                }
                if wasHealthy {
                    logger.warning("PostgreSQL is not answering", metadata: ["error": "\(storeError)"])
                    failureSignal.yield()
                }
            }
            throw storeError
        }
    }

    /// Runs `body` in one transaction on one connection, within the deadline.
    private func transaction<T: Sendable>(
        _ body: @escaping @Sendable (PostgresConnection) async throws -> T
    ) async throws -> T {
        let logger = self.logger
        return try await call { client in
            try await client.withTransaction(logger: logger) { connection in try await body(connection) }
        }
    }

    /// Runs `body` on a client of its own, without the request path's deadline and statement
    /// timeout: for migrations and bulk work, which may take longer than a request. It needs no
    /// `run()`.
    private func withOwnClient<T: Sendable>(_ body: (PostgresClient) async throws -> T) async throws -> T {
        let client = PostgresClient(configuration: configuration.migrationClientConfiguration)
        let runner = Task { await client.run() }
        defer { runner.cancel() }
        do {
            return try await body(client)
        } catch {
            throw Self.translate(error).error
        }
    }

    // MARK: Migrations

    /// The migrations, in order. Each runs once, in a transaction, and is recorded in
    /// `latchkey_migrations`. They only add; nothing is ever dropped.
    static let migrations: [(id: String, statements: [String])] = [
        (
            "v1-users-sessions-reset-tokens",
            [
                """
                CREATE TABLE users (
                    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                    email TEXT NOT NULL,
                    password_hash TEXT NOT NULL,
                    created_at DOUBLE PRECISION NOT NULL
                )
                """,
                "CREATE UNIQUE INDEX users_email ON users (email)",
                """
                CREATE TABLE sessions (
                    token_hash BYTEA PRIMARY KEY,
                    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
                    created_at DOUBLE PRECISION NOT NULL,
                    last_seen_at DOUBLE PRECISION NOT NULL,
                    expires_at DOUBLE PRECISION NOT NULL
                )
                """,
                "CREATE INDEX sessions_user_id ON sessions (user_id)",
                "CREATE INDEX sessions_expires_at ON sessions (expires_at)",
                "CREATE INDEX sessions_last_seen_at ON sessions (last_seen_at)",
                """
                CREATE TABLE reset_tokens (
                    user_id BIGINT PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
                    token_hash BYTEA NOT NULL,
                    created_at DOUBLE PRECISION NOT NULL,
                    expires_at DOUBLE PRECISION NOT NULL
                )
                """,
                "CREATE INDEX reset_tokens_expires_at ON reset_tokens (expires_at)",
            ]
        ),
        (
            "v2-throttles",
            [
                """
                CREATE TABLE throttles (
                    scope TEXT NOT NULL,
                    subject TEXT NOT NULL,
                    count INTEGER NOT NULL,
                    first_at DOUBLE PRECISION NOT NULL,
                    last_at DOUBLE PRECISION NOT NULL,
                    locked_until DOUBLE PRECISION,
                    lock_count INTEGER NOT NULL,
                    PRIMARY KEY (scope, subject)
                )
                """,
                "CREATE INDEX throttles_last_at ON throttles (last_at)",
            ]
        ),
        // A session carries its user's email, so that a session check reads one row of one
        // table. Emails never change; the trigger keeps the copies right should one ever be
        // changed in SQL.
        (
            "v3-sessions-carry-email",
            [
                "ALTER TABLE sessions ADD COLUMN email TEXT",
                "UPDATE sessions SET email = users.email FROM users WHERE users.id = sessions.user_id",
                "ALTER TABLE sessions ALTER COLUMN email SET NOT NULL",
                """
                CREATE FUNCTION latchkey_users_email_to_sessions() RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN
                    UPDATE sessions SET email = NEW.email WHERE user_id = NEW.id;
                    RETURN NULL;
                END
                $$
                """,
                """
                CREATE TRIGGER users_email_to_sessions AFTER UPDATE OF email ON users
                FOR EACH ROW WHEN (OLD.email IS DISTINCT FROM NEW.email)
                EXECUTE FUNCTION latchkey_users_email_to_sessions()
                """,
            ]
        ),
    ]

    /// An arbitrary constant that names Latchkey's migration lock among the database's advisory locks.
    static let migrationLockKey: Int64 = 0x4C61_7463_686B_6579

    /// Brings the schema up to date under a session-level advisory lock, so that nodes starting
    /// together migrate one after the other and the second finds nothing to do. It uses a
    /// connection of its own, so it can run before (or without) `run()`.
    /// - Parameter timeout: How long to wait for the database and for another node's migration.
    /// - Returns: Every applied migration, oldest first.
    /// - Throws: `StoreError.unavailable` when the database cannot be reached or a migration fails.
    @discardableResult
    public func migrate(timeout: Duration = .seconds(30)) async throws -> [String] {
        let logger = self.logger
        return try await withOwnClient { client in
            try await Deadline.run(timeout) {
                try await client.withConnection { connection in
                    try await connection.query("SELECT pg_advisory_lock(\(Self.migrationLockKey))", logger: logger)
                    do {
                        let applied = try await Self.applyMigrations(on: connection, logger: logger)
                        try await connection.query(
                            "SELECT pg_advisory_unlock(\(Self.migrationLockKey))", logger: logger)
                        return applied
                    } catch {
                        _ = try? await connection.query(
                            "SELECT pg_advisory_unlock(\(Self.migrationLockKey))", logger: logger)
                        throw error
                    }
                }
            }
        }
    }

    /// The migrations recorded as applied, oldest first, without applying any.
    /// - Returns: The identifiers.
    /// - Throws: `StoreError.unavailable` when the database cannot be read.
    public func appliedMigrations() async throws -> [String] {
        try await call { client in
            let logger = self.logger
            return try await client.withConnection { connection in
                try await Self.recordedMigrations(on: connection, logger: logger)
            }
        }
    }

    private static func recordedMigrations(on connection: PostgresConnection, logger: Logger) async throws -> [String] {
        let exists = try await connection.query(
            "SELECT to_regclass('latchkey_migrations') IS NOT NULL", logger: logger
        ).collect().first?.decode(Bool.self)
        guard exists == true else { return [] }
        var ids: [String] = []
        let rows = try await connection.query(
            "SELECT id FROM latchkey_migrations ORDER BY applied_at, id", logger: logger)
        for try await id in rows.decode(String.self) {
            ids.append(id)
        }
        return ids
    }

    private static func applyMigrations(on connection: PostgresConnection, logger: Logger) async throws -> [String] {
        try await connection.query(
            """
            CREATE TABLE IF NOT EXISTS latchkey_migrations (
                id TEXT PRIMARY KEY,
                applied_at TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp()
            )
            """,
            logger: logger
        )
        var applied = try await recordedMigrations(on: connection, logger: logger)
        for migration in migrations where !applied.contains(migration.id) {
            try await connection.withTransaction(logger: logger) { connection in
                for statement in migration.statements {
                    try await connection.query(PostgresQuery(unsafeSQL: statement), logger: logger)
                }
                try await connection.query(
                    "INSERT INTO latchkey_migrations (id) VALUES (\(migration.id))", logger: logger)
            }
            logger.info("applied migration", metadata: ["migration": "\(migration.id)"])
            applied.append(migration.id)
        }
        return applied
    }

    // MARK: Users

    /// Inserts a user; the unique index `users_email` turns a taken email into `StoreError.duplicateEmail`.
    public func addUser(email: String, passwordHash: String, createdAt: Date) async throws -> User {
        try StoreError.checkText(email, passwordHash)
        let created = createdAt.timeIntervalSince1970
        let id = try await call { client in
            try await client.query(
                """
                INSERT INTO users (email, password_hash, created_at) VALUES (\(email), \(passwordHash), \(created))
                RETURNING id
                """,
                logger: self.logger
            ).collect().first?.decode(Int64.self)
        }
        guard let id else { throw StoreError.unavailable("PostgreSQL returned no id for a new user") }
        return User(id: id, email: email, passwordHash: passwordHash, createdAt: createdAt)
    }

    /// Finds a user by id (primary key) or email (unique index).
    public func findUser(by lookup: UserLookup) async throws -> User? {
        let rows: [User] = try await call { client in
            let query: PostgresQuery
            switch lookup {
            case .id(let id):
                query = "SELECT id, email, password_hash, created_at FROM users WHERE id = \(id)"
            case .email(let email):
                // No stored email holds a NUL, and PostgreSQL would refuse to compare one.
                if email.utf8.contains(0) { return [] }
                query = "SELECT id, email, password_hash, created_at FROM users WHERE email = \(email)"
            }
            return try await client.query(query, logger: self.logger).collect().map { row in
                let (id, email, hash, created) = try row.decode((Int64, String, String, Double).self)
                return User(id: id, email: email, passwordHash: hash, createdAt: Date(timeIntervalSince1970: created))
            }
        }
        return rows.first
    }

    /// Updates a user; `StoreError.notFound` when the id is unknown.
    public func updateUser(id: Int64, _ update: UserUpdate) async throws {
        if let hash = update.passwordHash { try StoreError.checkText(hash) }
        let found = try await call { client in
            let rows: [PostgresRow]
            if let hash = update.passwordHash {
                rows = try await client.query(
                    "UPDATE users SET password_hash = \(hash) WHERE id = \(id) RETURNING id", logger: self.logger
                ).collect()
            } else {
                rows = try await client.query("SELECT id FROM users WHERE id = \(id)", logger: self.logger).collect()
            }
            return !rows.isEmpty
        }
        if !found { throw StoreError.notFound }
    }

    /// Replaces the hash only while it is still `old`, in one statement.
    public func replacePasswordHash(userID: Int64, from old: String, to new: String) async throws -> Bool {
        try StoreError.checkText(new)
        if old.utf8.contains(0) { return false }
        return try await call { client in
            try await !client.query(
                """
                UPDATE users SET password_hash = \(new) WHERE id = \(userID) AND password_hash = \(old) RETURNING 1
                """,
                logger: self.logger
            ).collect().isEmpty
        }
    }

    // MARK: Sessions

    /// Inserts the session only while the user's password hash is still `passwordHash`. The
    /// user's row is read `FOR SHARE`, so a reset that changes the hash either commits first
    /// (and the insert finds no row) or waits for this insert and then deletes the session.
    public func addSession(_ session: Session, ifPasswordHash passwordHash: String) async throws -> Bool {
        // No stored hash holds a NUL, so none can match.
        if passwordHash.utf8.contains(0) { return false }
        let token = session.tokenDigest.bytes
        let created = session.createdAt.timeIntervalSince1970
        let lastSeen = session.lastSeenAt.timeIntervalSince1970
        let expires = session.expiresAt.timeIntervalSince1970
        let userID = session.userID
        return try await call { client in
            let rows = try await client.query(
                """
                INSERT INTO sessions (token_hash, user_id, email, created_at, last_seen_at, expires_at)
                SELECT \(token), id, email, \(created), \(lastSeen), \(expires) FROM (
                    SELECT id, email FROM users WHERE id = \(userID) AND password_hash = \(passwordHash) FOR SHARE
                ) AS checked
                RETURNING 1
                """,
                logger: self.logger
            ).collect()
            return rows.count == 1
        }
    }

    /// Reads a session, with its user's email, by its primary key.
    public func findSession(digest: TokenDigest) async throws -> (session: Session, user: SessionUser)? {
        let token = digest.bytes
        let rows = try await call { client in
            try await client.query(
                """
                SELECT user_id, created_at, last_seen_at, expires_at, email FROM sessions
                WHERE token_hash = \(token)
                """,
                logger: self.logger
            ).collect().map { row in
                let (userID, created, lastSeen, expires, email) = try row.decode(
                    (Int64, Double, Double, Double, String).self)
                let session = Session(
                    tokenDigest: digest,
                    userID: userID,
                    createdAt: Date(timeIntervalSince1970: created),
                    lastSeenAt: Date(timeIntervalSince1970: lastSeen),
                    expiresAt: Date(timeIntervalSince1970: expires)
                )
                return SessionAndUser(session: session, user: SessionUser(id: userID, email: email))
            }
        }
        return rows.first.map { ($0.session, $0.user) }
    }

    /// Updates the session's `last_seen_at`.
    public func touchSession(digest: TokenDigest, lastSeenAt: Date) async throws {
        let token = digest.bytes
        let lastSeen = lastSeenAt.timeIntervalSince1970
        try await call { client in
            _ = try await client.query(
                "UPDATE sessions SET last_seen_at = \(lastSeen) WHERE token_hash = \(token)", logger: self.logger
            ).collect()
        }
    }

    /// Deletes one session; returns whether a row went.
    public func deleteSession(digest: TokenDigest) async throws -> Bool {
        let token = digest.bytes
        return try await call { client in
            try await !client.query(
                "DELETE FROM sessions WHERE token_hash = \(token) RETURNING 1", logger: self.logger
            ).collect().isEmpty
        }
    }

    /// Deletes every session of a user; returns how many went.
    public func deleteSessions(userID: Int64) async throws -> Int {
        try await call { client in
            try await client.query(
                "DELETE FROM sessions WHERE user_id = \(userID) RETURNING 1", logger: self.logger
            ).collect().count
        }
    }

    // MARK: Reset tokens

    /// Stores the user's reset token, replacing an earlier one (one row per user).
    public func setResetToken(_ token: ResetToken) async throws {
        let digest = token.tokenDigest.bytes
        let created = token.createdAt.timeIntervalSince1970
        let expires = token.expiresAt.timeIntervalSince1970
        let userID = token.userID
        try await call { client in
            _ = try await client.query(
                """
                INSERT INTO reset_tokens (user_id, token_hash, created_at, expires_at)
                VALUES (\(userID), \(digest), \(created), \(expires))
                ON CONFLICT (user_id) DO UPDATE SET
                    token_hash = excluded.token_hash,
                    created_at = excluded.created_at,
                    expires_at = excluded.expires_at
                """,
                logger: self.logger
            ).collect()
        }
    }

    /// Reads the user's pending reset token.
    public func findResetToken(userID: Int64) async throws -> ResetToken? {
        try await call { client in
            try await client.query(
                "SELECT token_hash, created_at, expires_at FROM reset_tokens WHERE user_id = \(userID)",
                logger: self.logger
            ).collect().first.map { row in
                let (digest, created, expires) = try row.decode((Data, Double, Double).self)
                return ResetToken(
                    userID: userID,
                    tokenDigest: TokenDigest(bytes: digest),
                    createdAt: Date(timeIntervalSince1970: created),
                    expiresAt: Date(timeIntervalSince1970: expires)
                )
            }
        }
    }

    /// Consumes the token, stores the new hash and deletes the user's sessions in one
    /// transaction. The statements run one by one (each with a fresh snapshot under READ
    /// COMMITTED), so the final delete sees a session that a concurrent login committed while
    /// the update waited for its share lock.
    public func resetPassword(userID: Int64, digest: TokenDigest, passwordHash: String, now: Date) async throws -> Bool
    {
        try StoreError.checkText(passwordHash)
        let token = digest.bytes
        let nowSeconds = now.timeIntervalSince1970
        let logger = self.logger
        return try await transaction { connection in
            // The delete is the claim: of two concurrent resets with one token, one deletes the row.
            let claimed = try await connection.query(
                """
                DELETE FROM reset_tokens
                WHERE user_id = \(userID) AND token_hash = \(token) AND expires_at > \(nowSeconds)
                RETURNING 1
                """,
                logger: logger
            ).collect()
            guard claimed.count == 1 else { return false }
            try await connection.query(
                "UPDATE users SET password_hash = \(passwordHash) WHERE id = \(userID)", logger: logger)
            try await connection.query("DELETE FROM sessions WHERE user_id = \(userID)", logger: logger)
            return true
        }
    }

    /// Deletes sessions past their absolute or idle expiry and expired reset tokens.
    public func purgeExpired(now: Date, idleCutoff: Date) async throws -> PurgeResult {
        let nowSeconds = now.timeIntervalSince1970
        let cutoff = idleCutoff.timeIntervalSince1970
        return try await call { client in
            let sessions = try await client.query(
                "DELETE FROM sessions WHERE expires_at <= \(nowSeconds) OR last_seen_at <= \(cutoff) RETURNING 1",
                logger: self.logger
            ).collect().count
            let tokens = try await client.query(
                "DELETE FROM reset_tokens WHERE expires_at <= \(nowSeconds) RETURNING 1", logger: self.logger
            ).collect().count
            return PurgeResult(sessions: sessions, resetTokens: tokens)
        }
    }

    // MARK: Operators

    /// Lists users by email with their live session counts.
    public func listUsers(after: String?, limit: Int, now: Date, idleCutoff: Date) async throws -> [UserSummary] {
        let after = after ?? ""
        if after.utf8.contains(0) { return [] }
        let nowSeconds = now.timeIntervalSince1970
        let cutoff = idleCutoff.timeIntervalSince1970
        return try await call { client in
            try await client.query(
                """
                SELECT u.id, u.email, u.created_at,
                    (SELECT count(*) FROM sessions s
                     WHERE s.user_id = u.id AND s.expires_at > \(nowSeconds) AND s.last_seen_at > \(cutoff))
                FROM users u WHERE u.email > \(after) ORDER BY u.email LIMIT \(limit)
                """,
                logger: self.logger
            ).collect().map { row in
                let (id, email, created, live) = try row.decode((Int64, String, Double, Int64).self)
                return UserSummary(
                    id: id, email: email, createdAt: Date(timeIntervalSince1970: created), liveSessions: Int(live))
            }
        }
    }

    /// Deletes a user; sessions and the reset token go with it (`ON DELETE CASCADE`).
    public func deleteUser(id: Int64) async throws -> Bool {
        try await call { client in
            try await !client.query("DELETE FROM users WHERE id = \(id) RETURNING 1", logger: self.logger).collect()
                .isEmpty
        }
    }

    /// Adds many users in one transaction; taken emails are skipped. An import may be large: it
    /// runs on a client of its own, without a request's deadline.
    public func addUsers(_ users: [NewUser]) async throws -> [Bool] {
        for user in users { try StoreError.checkText(user.email, user.passwordHash) }
        let logger = self.logger
        return try await withOwnClient { client in
            try await client.withTransaction(logger: logger) { connection in
                var added: [Bool] = []
                added.reserveCapacity(users.count)
                for user in users {
                    let created = user.createdAt.timeIntervalSince1970
                    let rows = try await connection.query(
                        """
                        INSERT INTO users (email, password_hash, created_at)
                        VALUES (\(user.email), \(user.passwordHash), \(created))
                        ON CONFLICT (email) DO NOTHING RETURNING 1
                        """,
                        logger: logger
                    ).collect()
                    added.append(!rows.isEmpty)
                }
                return added
            }
        }
    }

    /// Adds many sessions in one transaction, on a client of its own.
    public func addSessions(_ sessions: [Session]) async throws {
        let logger = self.logger
        try await withOwnClient { client in
            try await client.withTransaction(logger: logger) { connection in
                for session in sessions {
                    let token = session.tokenDigest.bytes
                    let created = session.createdAt.timeIntervalSince1970
                    let lastSeen = session.lastSeenAt.timeIntervalSince1970
                    let expires = session.expiresAt.timeIntervalSince1970
                    let inserted = try await connection.query(
                        """
                        INSERT INTO sessions (token_hash, user_id, email, created_at, last_seen_at, expires_at)
                        SELECT \(token), id, email, \(created), \(lastSeen), \(expires) FROM users
                        WHERE id = \(session.userID)
                        RETURNING 1
                        """,
                        logger: logger
                    ).collect()
                    guard inserted.count == 1 else { throw StoreError.notFound }
                }
            }
        }
    }

    /// The migrations that have not run yet, without running them.
    /// - Returns: Their identifiers, in order.
    /// - Throws: `StoreError.unavailable` when the database cannot be read.
    public func pendingMigrations() async throws -> [String] {
        let logger = self.logger
        let deadline = configuration.deadline * 4
        let applied = try await withOwnClient { client in
            try await Deadline.run(deadline) {
                try await client.withConnection { connection in
                    try await Self.recordedMigrations(on: connection, logger: logger)
                }
            }
        }
        return Self.migrations.map(\.id).filter { !applied.contains($0) }
    }

    // MARK: Throttles

    /// Reads a throttle record.
    public func throttleRecord(_ key: ThrottleKey) async throws -> ThrottleRecord? {
        let scope = key.scope.rawValue
        let subject = key.subject
        if subject.utf8.contains(0) { return nil }
        return try await call { client in
            try await client.query(
                """
                SELECT count, first_at, last_at, locked_until, lock_count FROM throttles
                WHERE scope = \(scope) AND subject = \(subject)
                """,
                logger: self.logger
            ).collect().first.flatMap(Self.throttle(from:))
        }
    }

    /// Reads, changes and writes a throttle record in one transaction. The row is created if
    /// missing and then locked `FOR UPDATE`, so concurrent changes from any node apply one after
    /// the other.
    public func updateThrottleRecord(
        _ key: ThrottleKey, _ update: @escaping @Sendable (ThrottleRecord?) -> ThrottleRecord?
    ) async throws -> ThrottleRecord? {
        try StoreError.checkText(key.subject)
        let scope = key.scope.rawValue
        let subject = key.subject
        let logger = self.logger
        return try await transaction { connection in
            // A placeholder (count 0, no wait) stands for "no record" until the update decides.
            try await connection.query(
                """
                INSERT INTO throttles (scope, subject, count, first_at, last_at, locked_until, lock_count)
                VALUES (\(scope), \(subject), 0, 0, 0, NULL, 0) ON CONFLICT (scope, subject) DO NOTHING
                """,
                logger: logger)
            let stored = try await connection.query(
                """
                SELECT count, first_at, last_at, locked_until, lock_count FROM throttles
                WHERE scope = \(scope) AND subject = \(subject) FOR UPDATE
                """,
                logger: logger
            ).collect().first.flatMap(Self.throttle(from:))
            guard let record = update(stored) else {
                try await connection.query(
                    "DELETE FROM throttles WHERE scope = \(scope) AND subject = \(subject)", logger: logger)
                return nil
            }
            let firstAt = record.firstAt.timeIntervalSince1970
            let lastAt = record.lastAt.timeIntervalSince1970
            let lockedUntil = record.lockedUntil?.timeIntervalSince1970
            let count = Int32(clamping: record.count)
            let lockCount = Int32(clamping: record.lockCount)
            try await connection.query(
                """
                UPDATE throttles SET count = \(count), first_at = \(firstAt), last_at = \(lastAt),
                    locked_until = \(lockedUntil), lock_count = \(lockCount)
                WHERE scope = \(scope) AND subject = \(subject)
                """,
                logger: logger)
            return record
        }
    }

    /// Deletes quiet throttle records whose wait has ended.
    public func purgeThrottles(lastBefore: Date, now: Date) async throws -> Int {
        let cutoff = lastBefore.timeIntervalSince1970
        let nowSeconds = now.timeIntervalSince1970
        return try await call { client in
            try await client.query(
                """
                DELETE FROM throttles
                WHERE last_at <= \(cutoff) AND (locked_until IS NULL OR locked_until <= \(nowSeconds))
                RETURNING 1
                """,
                logger: self.logger
            ).collect().count
        }
    }

    /// A stored row as a record; the placeholder row (count 0, no wait) is no record.
    private static func throttle(from row: PostgresRow) -> ThrottleRecord? {
        guard
            let (count, firstAt, lastAt, lockedUntil, lockCount) = try? row.decode(
                (Int32, Double, Double, Double?, Int32).self)
        else { return nil }
        if count == 0 && lockedUntil == nil { return nil }
        return ThrottleRecord(
            count: Int(count),
            firstAt: Date(timeIntervalSince1970: firstAt),
            lastAt: Date(timeIntervalSince1970: lastAt),
            lockedUntil: lockedUntil.map(Date.init(timeIntervalSince1970:)),
            lockCount: Int(lockCount)
        )
    }

    // MARK: Errors

    /// Turns driver errors into the store errors every store shares, and tells whether the
    /// connection to the database is in doubt (which starts the reconnect loop).
    static func translate(_ error: any Error) -> (error: StoreError, connectionLost: Bool) {
        switch error {
        case let error as StoreError:
            return (error, false)
        case let error as PostgresTransactionError:
            if let inner = error.closureError ?? error.beginError ?? error.commitError {
                return translate(inner)
            }
            return (.unavailable("PostgreSQL transaction failed"), true)
        case is DeadlineExceeded:
            return (.unavailable("PostgreSQL did not answer in time"), true)
        case is CancellationError:
            return (.unavailable("the call was cancelled"), false)
        case let error as PSQLError where error.code == .server:
            let state = error.serverInfo?[.sqlState] ?? ""
            let message = error.serverInfo?[.message] ?? "no message"
            switch state {
            case "23505" where error.serverInfo?[.constraintName] == "users_email":
                return (.duplicateEmail, false)
            case "23503":
                return (.notFound, false)
            case "22021", "22P05":
                return (.invalidValue("text the database cannot store: \(message)"), false)
            case _ where state.hasPrefix("08") || state.hasPrefix("57P") || state == "53300":
                // Connection exceptions, an operator shutdown, too many connections.
                return (.unavailable("PostgreSQL error \(state): \(message)"), true)
            default:
                return (.unavailable("PostgreSQL error \(state): \(message)"), false)
            }
        case let error as PSQLError:
            return (.unavailable("PostgreSQL connection: \(error.code)"), true)
        default:
            return (.unavailable("PostgreSQL: \(error)"), true)
        }
    }
}

/// A session and its user, as one `Sendable` value.
private struct SessionAndUser: Sendable {
    var session: Session
    var user: SessionUser
}
