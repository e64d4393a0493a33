import Foundation
import GRDB
import LatchkeyCore

extension SQLiteStore {
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

    /// Every migration's identifier, oldest first. PostgreSQL's store has the same list
    /// (`PostgresStore.migrationIdentifiers`), so that one name means one schema change on both.
    public static var migrationIdentifiers: [String] { migrator.migrations }

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
        // Stored addresses take their canonical forms (`EmailAddress`) where that form is valid
        // and unique; the others keep their old address and are listed in `email_conflicts`.
        // The decision is Core's (`EmailCanonicalisation`), shared with PostgreSQL's store.
        migrator.registerMigration("v4-canonical-emails") { db in
            try db.execute(
                sql: """
                    CREATE TABLE email_conflicts (
                        user_id INTEGER PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
                        canonical TEXT
                    );
                    CREATE INDEX email_conflicts_canonical ON email_conflicts(canonical);
                    """
            )
            let users = try Row.fetchAll(db, sql: "SELECT id, email FROM users").map { row in
                (id: row[0] as Int64, email: row[1] as String)
            }
            let plan = EmailCanonicalisation.plan(users)
            for update in plan.updates {
                try db.execute(
                    sql: "UPDATE users SET email = ? WHERE id = ?", arguments: [update.email, update.userID])
            }
            for conflict in plan.conflicts {
                try db.execute(
                    sql: "INSERT INTO email_conflicts (user_id, canonical) VALUES (?, ?)",
                    arguments: [conflict.userID, conflict.canonical])
            }
        }
        // Attempts reserved before their check (`FailureThrottle.reserving`), as seconds since
        // 1970 separated by spaces.
        migrator.registerMigration("v5-throttle-pending-attempts") { db in
            try db.execute(sql: "ALTER TABLE throttles ADD COLUMN pending TEXT NOT NULL DEFAULT ''")
        }
        // Sessions get a public identifier of their own (`Session.publicID`: 16 random bytes in
        // hexadecimal, unrelated to the token), and the address and agent they were created
        // from, unknown (NULL) for the sessions made before. A column added later cannot have an
        // expression as its default in SQLite, so a trigger gives one to every row an older
        // binary inserts without it (a `migrate` run while the old service still serves).
        migrator.registerMigration("v6-session-public-ids") { db in
            try db.execute(
                sql: """
                    ALTER TABLE sessions ADD COLUMN public_id TEXT;
                    ALTER TABLE sessions ADD COLUMN ip TEXT;
                    ALTER TABLE sessions ADD COLUMN user_agent TEXT;
                    UPDATE sessions SET public_id = lower(hex(randomblob(16)));
                    CREATE UNIQUE INDEX sessions_public_id ON sessions(public_id);
                    CREATE TRIGGER sessions_public_id_default AFTER INSERT ON sessions
                    WHEN NEW.public_id IS NULL
                    BEGIN
                        UPDATE sessions SET public_id = lower(hex(randomblob(16))) WHERE token_hash = NEW.token_hash;
                    END;
                    """
            )
        }
        // Each account's security activity (`ActivityEvent`), erased with the account.
        migrator.registerMigration("v7-activity") { db in
            try db.execute(
                sql: """
                    CREATE TABLE activity (
                        id INTEGER PRIMARY KEY AUTOINCREMENT,
                        user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
                        type TEXT NOT NULL,
                        at DOUBLE NOT NULL,
                        ip TEXT,
                        user_agent TEXT
                    );
                    CREATE INDEX activity_user_id_at ON activity(user_id, at);
                    CREATE INDEX activity_at ON activity(at);
                    """
            )
        }
        // Addresses are verified (every existing one starts unverified) by a token bound to the
        // address it proves, one pending per account (`VerificationToken`).
        migrator.registerMigration("v8-email-verification") { db in
            try db.execute(
                sql: """
                    ALTER TABLE users ADD COLUMN email_verified BOOLEAN NOT NULL DEFAULT 0;
                    CREATE TABLE verification_tokens (
                        user_id INTEGER PRIMARY KEY NOT NULL REFERENCES users(id) ON DELETE CASCADE,
                        email TEXT NOT NULL,
                        token_hash BLOB NOT NULL,
                        created_at DOUBLE NOT NULL,
                        expires_at DOUBLE NOT NULL
                    );
                    CREATE UNIQUE INDEX verification_tokens_token_hash ON verification_tokens(token_hash);
                    CREATE INDEX verification_tokens_expires_at ON verification_tokens(expires_at);
                    """
            )
        }
        // The second factor (`SecondFactor`): one TOTP factor per account (its secrets sealed), the
        // digests of its recovery codes, the tokens of logins waiting for a code (`LoginChallenge`),
        // and each session's assurance level (every existing one made with a password alone).
        migrator.registerMigration("v9-second-factor") { db in
            try db.execute(
                sql: """
                    CREATE TABLE mfa_factors (
                        user_id INTEGER PRIMARY KEY NOT NULL REFERENCES users(id) ON DELETE CASCADE,
                        totp_secret BLOB,
                        pending_secret BLOB,
                        last_step INTEGER
                    );
                    CREATE TABLE recovery_codes (
                        user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
                        digest BLOB NOT NULL,
                        PRIMARY KEY (user_id, digest)
                    ) WITHOUT ROWID;
                    CREATE TABLE mfa_tokens (
                        token_hash BLOB PRIMARY KEY NOT NULL,
                        user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
                        password_hash TEXT NOT NULL,
                        expires_at DOUBLE NOT NULL
                    ) WITHOUT ROWID;
                    CREATE INDEX mfa_tokens_user_id ON mfa_tokens(user_id);
                    CREATE INDEX mfa_tokens_expires_at ON mfa_tokens(expires_at);
                    ALTER TABLE sessions ADD COLUMN aal INTEGER NOT NULL DEFAULT 1;
                    ALTER TABLE users ADD COLUMN mfa_enabled BOOLEAN NOT NULL DEFAULT 0;
                    """
            )
        }
        // Each factor's revision (`SecondFactor.revision`), so that a change can require the
        // state it started from.
        migrator.registerMigration("v10-second-factor-revisions") { db in
            try db.execute(sql: "ALTER TABLE mfa_factors ADD COLUMN revision INTEGER NOT NULL DEFAULT 0")
        }
        // The pending claims of unverified addresses (`PendingClaim`): one per account.
        migrator.registerMigration("v11-pending-claims") { db in
            try db.execute(
                sql: """
                    CREATE TABLE pending_claims (
                        user_id INTEGER PRIMARY KEY NOT NULL REFERENCES users(id) ON DELETE CASCADE,
                        password_hash TEXT NOT NULL,
                        created_at DOUBLE NOT NULL,
                        expires_at DOUBLE NOT NULL
                    );
                    CREATE INDEX pending_claims_expires_at ON pending_claims(expires_at);
                    """
            )
        }
        // The outbox (`OutboxStore`): every outgoing message, written with its change, then claimed
        // (a lease in `next_attempt_at`), attempted and settled. `payload` is sealed, and NULL once
        // erased; `user_id` has no foreign key, so that a deletion's own notice outlives the account.
        migrator.registerMigration("v12-outbox") { db in
            try db.execute(
                sql: """
                    CREATE TABLE outbox (
                        id TEXT PRIMARY KEY NOT NULL,
                        kind TEXT NOT NULL,
                        event TEXT NOT NULL,
                        recipient TEXT NOT NULL,
                        user_id INTEGER,
                        carries_token BOOLEAN NOT NULL,
                        payload BLOB,
                        language TEXT,
                        created_at DOUBLE NOT NULL,
                        status TEXT NOT NULL DEFAULT 'pending',
                        attempts INTEGER NOT NULL DEFAULT 0,
                        next_attempt_at DOUBLE NOT NULL,
                        last_error TEXT,
                        claim TEXT
                    ) WITHOUT ROWID;
                    CREATE INDEX outbox_status_next_attempt_at ON outbox(status, next_attempt_at);
                    CREATE INDEX outbox_user_id ON outbox(user_id);
                    """
            )
        }
        return migrator
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
}
