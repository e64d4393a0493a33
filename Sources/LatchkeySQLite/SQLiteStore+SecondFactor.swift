import Foundation
import GRDB
import LatchkeyCore

/// The second factor: the TOTP factor, recovery codes and the tokens of logins waiting for a
/// code. Every change that checks before it writes runs in one write transaction: SQLite runs one
/// at a time, so the checks hold until the changes.
extension SQLiteStore {
    /// Reads the user's factor and counts the unused recovery codes, in one statement.
    public func secondFactor(userID: Int64) async throws -> SecondFactor? {
        try readHere { db in try Self.secondFactor(userID: userID, in: db) }
    }

    /// The user's second factor, within the caller's transaction.
    static func secondFactor(userID: Int64, in db: Database) throws -> SecondFactor? {
        let row = try Row.fetchOne(
            db.cachedStatement(
                sql: """
                    SELECT totp_secret, pending_secret, last_step,
                        (SELECT count(*) FROM recovery_codes WHERE user_id = mfa_factors.user_id), revision
                    FROM mfa_factors WHERE user_id = ?
                    """),
            arguments: [userID])
        guard let row else { return nil }
        let secret: Data? = row[0]
        let pending: Data? = row[1]
        if secret == nil && pending == nil { return nil }
        return SecondFactor(
            userID: userID, secret: secret, pendingSecret: pending, lastStep: row[2], recoveryCodesLeft: row[3],
            revision: row[4])
    }

    /// Checks the stored revision, then inserts or replaces the pending secret, in one write
    /// transaction, the replacement only while no secret is active; the foreign key turns a
    /// missing user into `StoreError.notFound`.
    public func setPendingTOTPSecret(userID: Int64, sealed: Data, ifRevision revision: Int64?) async throws -> Bool {
        try await write { db in
            let row = try Row.fetchOne(
                db, sql: "SELECT totp_secret IS NOT NULL, revision FROM mfa_factors WHERE user_id = ?",
                arguments: [userID])
            let (active, stored): (Bool?, Int64?) = (row?[0], row?[1])
            guard active != true, stored == revision else { return false }
            try db.execute(
                sql: """
                    INSERT INTO mfa_factors (user_id, pending_secret, revision) VALUES (?, ?, 1)
                    ON CONFLICT(user_id) DO UPDATE
                    SET pending_secret = excluded.pending_secret, revision = mfa_factors.revision + 1
                    """,
                arguments: [userID, sealed])
            return true
        }
    }

    /// Checks the session and the pending secret, then activates the factor, replaces the
    /// recovery codes, ends the other sessions and re-keys the current one at level 2, in one
    /// write transaction.
    public func activateTOTP(
        userID: Int64, pending: Data, step: Int64, recoveryCodes: [Data], keeping current: TokenDigest,
        as replacement: TokenDigest, messages: [OutboxMessage]
    ) async throws -> Bool {
        try await write { db in
            guard try Self.holdsSession(db, current, userID: userID) else { return false }
            try db.execute(
                sql: """
                    UPDATE mfa_factors
                    SET totp_secret = pending_secret, pending_secret = NULL, last_step = ?, revision = revision + 1
                    WHERE user_id = ? AND pending_secret = ? AND totp_secret IS NULL
                    """,
                arguments: [step, userID, pending])
            guard db.changesCount == 1 else { return false }
            try Self.storeRecoveryCodes(db, userID: userID, digests: recoveryCodes)
            // The flag the session insert checks: a login that checked its password before this
            // and inserts after gets no session without its code.
            try db.execute(sql: "UPDATE users SET mfa_enabled = 1 WHERE id = ?", arguments: [userID])
            try db.execute(sql: "DELETE FROM mfa_tokens WHERE user_id = ?", arguments: [userID])
            try db.execute(
                sql: "DELETE FROM sessions WHERE user_id = ? AND token_hash <> ?", arguments: [userID, current.bytes])
            try db.execute(
                sql: "UPDATE sessions SET token_hash = ?, aal = 2 WHERE token_hash = ?",
                arguments: [replacement.bytes, current.bytes])
            try Self.insert(messages, in: db)
            return true
        }
    }

    /// Re-keys the session at level 2 in one statement, while it is the user's and the factor is
    /// active.
    public func stepUpSession(userID: Int64, keeping current: TokenDigest, as replacement: TokenDigest)
        async throws -> Bool
    {
        try await write { db in
            try db.execute(
                sql: """
                    UPDATE sessions SET token_hash = ?, aal = 2
                    WHERE token_hash = ? AND user_id = ?
                    AND EXISTS (SELECT 1 FROM mfa_factors WHERE user_id = ? AND totp_secret IS NOT NULL)
                    """,
                arguments: [replacement.bytes, current.bytes, userID, userID])
            return db.changesCount == 1
        }
    }

    /// Records the step in one conditional statement: of two requests with one code, the second
    /// finds the step taken.
    public func acceptTOTPStep(userID: Int64, step: Int64, secret: Data, resealed: Data?) async throws -> Bool {
        try await write { db in
            try db.cachedStatement(
                sql: """
                    UPDATE mfa_factors SET last_step = ?, totp_secret = coalesce(?, totp_secret)
                    WHERE user_id = ? AND totp_secret = ? AND (last_step IS NULL OR last_step < ?)
                    """
            ).execute(arguments: [step, resealed, userID, secret, step])
            return db.changesCount == 1
        }
    }

    /// Deletes one matching code and counts the rest, in one write transaction.
    public func consumeRecoveryCode(userID: Int64, digests: [Data], messages: [OutboxMessage]) async throws -> Int? {
        if digests.isEmpty { return nil }
        return try await write { db in
            let candidates = databaseQuestionMarks(count: digests.count)
            var arguments: StatementArguments = [userID, userID]
            arguments += StatementArguments(digests)
            try db.execute(
                sql: """
                    DELETE FROM recovery_codes WHERE user_id = ? AND digest = (
                        SELECT digest FROM recovery_codes WHERE user_id = ? AND digest IN (\(candidates)) LIMIT 1
                    )
                    """,
                arguments: arguments)
            guard db.changesCount == 1 else { return nil }
            try Self.insert(messages, in: db)
            return try Int.fetchOne(
                db, sql: "SELECT count(*) FROM recovery_codes WHERE user_id = ?", arguments: [userID]) ?? 0
        }
    }

    /// Moves the revision on, then replaces the codes, in one write transaction, while the factor
    /// is active and at `revision`.
    public func replaceRecoveryCodes(userID: Int64, digests: [Data], ifRevision revision: Int64) async throws -> Bool {
        try await write { db in
            try db.execute(
                sql: """
                    UPDATE mfa_factors SET revision = revision + 1
                    WHERE user_id = ? AND totp_secret IS NOT NULL AND revision = ?
                    """,
                arguments: [userID, revision])
            guard db.changesCount == 1 else { return false }
            try Self.storeRecoveryCodes(db, userID: userID, digests: digests)
            return true
        }
    }

    /// Checks the revision, then deletes the factor, the codes and the login tokens and brings the
    /// sessions to level 1, in one write transaction.
    public func deleteSecondFactor(userID: Int64, ifRevision revision: Int64?, messages: [OutboxMessage]) async throws
        -> Bool
    {
        try await write { db in
            let row = try Row.fetchOne(
                db, sql: "SELECT totp_secret IS NOT NULL, revision FROM mfa_factors WHERE user_id = ?",
                arguments: [userID])
            let (active, stored): (Bool?, Int64?) = (row?[0], row?[1])
            if let revision, stored != revision { return false }
            try db.execute(sql: "DELETE FROM mfa_factors WHERE user_id = ?", arguments: [userID])
            try db.execute(sql: "UPDATE users SET mfa_enabled = 0 WHERE id = ?", arguments: [userID])
            try db.execute(sql: "DELETE FROM recovery_codes WHERE user_id = ?", arguments: [userID])
            try db.execute(sql: "DELETE FROM mfa_tokens WHERE user_id = ?", arguments: [userID])
            try db.execute(sql: "UPDATE sessions SET aal = 1 WHERE user_id = ?", arguments: [userID])
            if active == true { try Self.insert(messages, in: db) }
            return active ?? false
        }
    }

    /// Inserts the token; the foreign key turns a missing user into `StoreError.notFound`.
    public func addLoginChallenge(_ token: LoginChallenge) async throws {
        try StoreError.checkText(token.passwordHash)
        try await write { db in
            try db.execute(
                sql: "INSERT INTO mfa_tokens (token_hash, user_id, password_hash, expires_at) VALUES (?, ?, ?, ?)",
                arguments: [
                    token.tokenDigest.bytes, token.userID, token.passwordHash, token.expiresAt.timeIntervalSince1970,
                ])
        }
    }

    /// Reads a token by its primary key, expired or not.
    public func findLoginChallenge(digest: TokenDigest) async throws -> LoginChallenge? {
        try readHere { db in
            try Row.fetchOne(
                db.cachedStatement(
                    sql: "SELECT user_id, password_hash, expires_at FROM mfa_tokens WHERE token_hash = ?"),
                arguments: [digest.bytes]
            ).map { row in
                LoginChallenge(
                    tokenDigest: digest, userID: row[0], passwordHash: row[1],
                    expiresAt: Date(timeIntervalSince1970: row[2]))
            }
        }
    }

    /// Deletes the expired tokens and returns them, in one statement.
    public func takeExpiredLoginChallenges(now: Date) async throws -> [LoginChallenge] {
        try await write { db in
            try Row.fetchAll(
                db,
                sql: """
                    DELETE FROM mfa_tokens WHERE expires_at <= ?
                    RETURNING token_hash, user_id, password_hash, expires_at
                    """,
                arguments: [now.timeIntervalSince1970]
            ).map { row in
                LoginChallenge(
                    tokenDigest: TokenDigest(bytes: row[0]), userID: row[1], passwordHash: row[2],
                    expiresAt: Date(timeIntervalSince1970: row[3]))
            }
        }
    }

    /// Deletes the token; the delete is the claim, so one caller gets `true`.
    public func deleteLoginChallenge(digest: TokenDigest) async throws -> Bool {
        try await write { db in
            try db.execute(sql: "DELETE FROM mfa_tokens WHERE token_hash = ?", arguments: [digest.bytes])
            return db.changesCount == 1
        }
    }

    /// Reads up to `limit` active secrets, in no particular order.
    public func sampleTOTPSecrets(limit: Int) async throws -> [(userID: Int64, secret: Data)] {
        // SQLite reads a negative LIMIT as none at all.
        if limit <= 0 { return [] }
        return try readHere { db in
            try Row.fetchAll(
                db, sql: "SELECT user_id, totp_secret FROM mfa_factors WHERE totp_secret IS NOT NULL LIMIT ?",
                arguments: [limit]
            ).map { row in (userID: row[0], secret: row[1]) }
        }
    }

    /// Replaces every recovery code of a user, inside the caller's write transaction. A digest
    /// given twice is stored once.
    private static func storeRecoveryCodes(_ db: Database, userID: Int64, digests: [Data]) throws {
        try db.execute(sql: "DELETE FROM recovery_codes WHERE user_id = ?", arguments: [userID])
        let insert = try db.cachedStatement(
            sql: "INSERT INTO recovery_codes (user_id, digest) VALUES (?, ?) ON CONFLICT DO NOTHING")
        for digest in digests {
            try insert.execute(arguments: [userID, digest])
        }
    }
}
