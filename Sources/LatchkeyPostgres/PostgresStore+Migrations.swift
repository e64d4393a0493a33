import Foundation
import LatchkeyCore
import Logging
import PostgresNIO

extension PostgresStore {
    /// Every migration's identifier, oldest first; the same list as SQLite's store
    /// (`SQLiteStore.migrationIdentifiers`).
    public static var migrationIdentifiers: [String] { migrations.map(\.id) }

    /// The migrations, in order. Each runs once, in a transaction, and is recorded in
    /// `latchkey_migrations`. They only add; nothing is ever dropped. A migration's statements
    /// run first, then its data step in `dataSteps`, if any, in the same transaction.
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
        // Stored addresses take their canonical forms where that form is valid and unique; the
        // others keep their old address and are listed (the data step below).
        (
            "v4-canonical-emails",
            [
                """
                CREATE TABLE email_conflicts (
                    user_id BIGINT PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
                    canonical TEXT
                )
                """,
                "CREATE INDEX email_conflicts_canonical ON email_conflicts (canonical)",
            ]
        ),
        // Attempts reserved before their check (`FailureThrottle.reserving`), as seconds since
        // 1970 separated by spaces.
        (
            "v5-throttle-pending-attempts",
            ["ALTER TABLE throttles ADD COLUMN pending TEXT NOT NULL DEFAULT ''"]
        ),
        // Sessions get a public identifier of their own (`Session.publicID`: 32 hexadecimal
        // characters, unrelated to the token), and the address and agent they were created from,
        // NULL for those before. The default, volatile, gives every existing row (the table is
        // rewritten) and every row an older binary inserts during a rolling upgrade 122 random
        // bits of `gen_random_uuid()`.
        (
            "v6-session-public-ids",
            [
                """
                ALTER TABLE sessions
                    ADD COLUMN public_id TEXT NOT NULL DEFAULT replace(gen_random_uuid()::text, '-', ''),
                    ADD COLUMN ip TEXT,
                    ADD COLUMN user_agent TEXT
                """,
                "CREATE UNIQUE INDEX sessions_public_id ON sessions (public_id)",
            ]
        ),
        // Each account's security activity (`ActivityEvent`), erased with the account.
        (
            "v7-activity",
            [
                """
                CREATE TABLE activity (
                    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
                    type TEXT NOT NULL,
                    at DOUBLE PRECISION NOT NULL,
                    ip TEXT,
                    user_agent TEXT
                )
                """,
                "CREATE INDEX activity_user_id_at ON activity (user_id, at)",
                "CREATE INDEX activity_at ON activity (at)",
            ]
        ),
        // Addresses are verified (every existing one starts unverified) by a token bound to the
        // address it proves, one pending per account (`VerificationToken`).
        (
            "v8-email-verification",
            [
                "ALTER TABLE users ADD COLUMN email_verified BOOLEAN NOT NULL DEFAULT false",
                """
                CREATE TABLE verification_tokens (
                    user_id BIGINT PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
                    email TEXT NOT NULL,
                    token_hash BYTEA NOT NULL,
                    created_at DOUBLE PRECISION NOT NULL,
                    expires_at DOUBLE PRECISION NOT NULL
                )
                """,
                "CREATE UNIQUE INDEX verification_tokens_token_hash ON verification_tokens (token_hash)",
                "CREATE INDEX verification_tokens_expires_at ON verification_tokens (expires_at)",
            ]
        ),
        // The second factor (`SecondFactor`): one TOTP factor per account (its secrets sealed), the
        // digests of its recovery codes, the tokens of logins waiting for a code (`LoginChallenge`),
        // and each session's assurance level (every existing one made with a password alone; a
        // constant default does not rewrite the table).
        (
            "v9-second-factor",
            [
                """
                CREATE TABLE mfa_factors (
                    user_id BIGINT PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
                    totp_secret BYTEA,
                    pending_secret BYTEA,
                    last_step BIGINT
                )
                """,
                """
                CREATE TABLE recovery_codes (
                    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
                    digest BYTEA NOT NULL,
                    PRIMARY KEY (user_id, digest)
                )
                """,
                """
                CREATE TABLE mfa_tokens (
                    token_hash BYTEA PRIMARY KEY,
                    user_id BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
                    password_hash TEXT NOT NULL,
                    expires_at DOUBLE PRECISION NOT NULL
                )
                """,
                "CREATE INDEX mfa_tokens_user_id ON mfa_tokens (user_id)",
                "CREATE INDEX mfa_tokens_expires_at ON mfa_tokens (expires_at)",
                "ALTER TABLE sessions ADD COLUMN aal SMALLINT NOT NULL DEFAULT 1",
                "ALTER TABLE users ADD COLUMN mfa_enabled BOOLEAN NOT NULL DEFAULT false",
            ]
        ),
        ("v10-second-factor-revisions", ["ALTER TABLE mfa_factors ADD COLUMN revision BIGINT NOT NULL DEFAULT 0"]),
        // The pending claims of unverified addresses (`PendingClaim`): one per account.
        (
            "v11-pending-claims",
            [
                """
                CREATE TABLE pending_claims (
                    user_id BIGINT PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
                    password_hash TEXT NOT NULL,
                    created_at DOUBLE PRECISION NOT NULL,
                    expires_at DOUBLE PRECISION NOT NULL
                )
                """,
                "CREATE INDEX pending_claims_expires_at ON pending_claims (expires_at)",
            ]
        ),
        // The outbox (`OutboxStore`): every outgoing message, written with its change, then claimed
        // (a lease in `next_attempt_at`, `FOR UPDATE SKIP LOCKED`), attempted and settled.
        // `payload` is sealed, and NULL once erased; `user_id` has no foreign key, so that a
        // deletion's own notice outlives the account.
        (
            "v12-outbox",
            [
                """
                CREATE TABLE outbox (
                    id TEXT PRIMARY KEY,
                    kind TEXT NOT NULL,
                    event TEXT NOT NULL,
                    recipient TEXT NOT NULL,
                    user_id BIGINT,
                    carries_token BOOLEAN NOT NULL,
                    payload BYTEA,
                    language TEXT,
                    created_at DOUBLE PRECISION NOT NULL,
                    status TEXT NOT NULL DEFAULT 'pending',
                    attempts INTEGER NOT NULL DEFAULT 0,
                    next_attempt_at DOUBLE PRECISION NOT NULL,
                    last_error TEXT,
                    claim TEXT
                )
                """,
                "CREATE INDEX outbox_status_next_attempt_at ON outbox (status, next_attempt_at)",
                "CREATE INDEX outbox_user_id ON outbox (user_id)",
            ]
        ),
    ]

    /// Whether a migration rewrites stored rows (has a data step, or rewrites a table in SQL),
    /// and so may take longer than a start-up deadline.
    /// - Parameter id: A migration's identifier.
    /// - Returns: `true` when it rewrites rows.
    public static func hasDataStep(_ id: String) -> Bool {
        dataSteps[id] != nil || rewritingMigrations.contains(id)
    }

    /// The migrations whose SQL rewrites every row of a table (a column with a volatile default).
    static let rewritingMigrations: Set<String> = ["v6-session-public-ids"]

    /// The data steps of migrations, in Swift: what SQL alone cannot decide. The decision is
    /// Core's (`EmailCanonicalisation`), shared with SQLite's store.
    static let dataSteps: [String: @Sendable (PostgresConnection, Logger) async throws -> Void] = [
        "v4-canonical-emails": { connection, logger in
            let users = try await connection.query("SELECT id, email FROM users", logger: logger).collect().map {
                row in
                let (id, email) = try row.decode((Int64, String).self)
                return (id: id, email: email)
            }
            let plan = EmailCanonicalisation.plan(users)
            if !plan.updates.isEmpty {
                let ids = plan.updates.map(\.userID)
                let emails = plan.updates.map(\.email)
                try await connection.query(
                    """
                    UPDATE users SET email = v.email
                    FROM unnest(\(ids)::BIGINT[], \(emails)::TEXT[]) AS v (id, email) WHERE users.id = v.id
                    """,
                    logger: logger)
            }
            let shared = plan.conflicts.compactMap { conflict in conflict.canonical.map { (conflict.userID, $0) } }
            if !shared.isEmpty {
                let ids = shared.map(\.0)
                let canonicals = shared.map(\.1)
                try await connection.query(
                    """
                    INSERT INTO email_conflicts (user_id, canonical)
                    SELECT * FROM unnest(\(ids)::BIGINT[], \(canonicals)::TEXT[])
                    """,
                    logger: logger)
            }
            let invalid = plan.conflicts.filter { $0.canonical == nil }.map(\.userID)
            if !invalid.isEmpty {
                try await connection.query(
                    "INSERT INTO email_conflicts (user_id) SELECT * FROM unnest(\(invalid)::BIGINT[])", logger: logger)
            }
        }
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

    static func recordedMigrations(on connection: PostgresConnection, logger: Logger) async throws -> [String] {
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

    static func applyMigrations(
        on connection: PostgresConnection, logger: Logger, upTo last: String? = nil
    ) async throws -> [String] {
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
                try await dataSteps[migration.id]?(connection, logger)
                try await connection.query(
                    "INSERT INTO latchkey_migrations (id) VALUES (\(migration.id))", logger: logger)
            }
            logger.info("applied migration", metadata: ["migration": "\(migration.id)"])
            applied.append(migration.id)
            if migration.id == last { break }
        }
        return applied
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
}
