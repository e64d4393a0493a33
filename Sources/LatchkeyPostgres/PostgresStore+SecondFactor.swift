import Foundation
import LatchkeyCore
import Logging
import NIOCore
import PostgresNIO

/// The second factor: the TOTP factor, recovery codes and the tokens of logins waiting for a
/// code. A change of several statements locks the user's row first, as a password change and a
/// reset do: taken in the same order, they cannot deadlock, and a deleted user is seen at once.
extension PostgresStore {
    /// Reads the user's factor and counts the unused recovery codes, in one statement.
    public func secondFactor(userID: Int64) async throws -> SecondFactor? {
        let rows = try await call { client in
            try await client.query(
                """
                SELECT totp_secret, pending_secret, last_step,
                    (SELECT count(*) FROM recovery_codes WHERE user_id = \(userID)), revision
                FROM mfa_factors WHERE user_id = \(userID)
                """,
                logger: self.logger
            ).collect()
        }
        guard let row = rows.first else { return nil }
        let (secret, pending, lastStep, left, revision) = try row.decode((Data?, Data?, Int64?, Int64, Int64).self)
        if secret == nil && pending == nil { return nil }
        return SecondFactor(
            userID: userID, secret: secret, pendingSecret: pending, lastStep: lastStep, recoveryCodesLeft: Int(left),
            revision: revision)
    }

    /// Inserts the pending secret when the caller read no factor (a row stored meanwhile wins), or
    /// replaces it while no secret is active and the revision is the one read (READ COMMITTED
    /// checks it again on a row a concurrent change just wrote), in one statement; the foreign key
    /// turns a missing user into `StoreError.notFound`.
    public func setPendingTOTPSecret(userID: Int64, sealed: Data, ifRevision revision: Int64?) async throws -> Bool {
        try await call { client in
            guard let revision else {
                return try await client.query(
                    """
                    INSERT INTO mfa_factors (user_id, pending_secret, revision) VALUES (\(userID), \(sealed), 1)
                    ON CONFLICT (user_id) DO NOTHING
                    RETURNING 1
                    """,
                    logger: self.logger
                ).collect().count == 1
            }
            return try await client.query(
                """
                UPDATE mfa_factors SET pending_secret = \(sealed), revision = revision + 1
                WHERE user_id = \(userID) AND totp_secret IS NULL AND revision = \(revision)
                RETURNING 1
                """,
                logger: self.logger
            ).collect().count == 1
        }
    }

    /// Re-keys the session at level 2 in one statement, while it is the user's and the factor is
    /// active.
    public func stepUpSession(userID: Int64, keeping current: TokenDigest, as replacement: TokenDigest)
        async throws -> Bool
    {
        let (token, newToken) = (current.bytes, replacement.bytes)
        return try await call { client in
            try await client.query(
                """
                UPDATE sessions SET token_hash = \(newToken), aal = 2
                WHERE token_hash = \(token) AND user_id = \(userID)
                AND EXISTS (SELECT 1 FROM mfa_factors WHERE user_id = \(userID) AND totp_secret IS NOT NULL)
                RETURNING 1
                """,
                logger: self.logger
            ).collect().count == 1
        }
    }

    /// Activates the factor, replaces the recovery codes, ends the other sessions and re-keys the
    /// current one at level 2, in one transaction. The user's row is locked, then the current
    /// session's (so that a logout cannot take it between the check and the re-key), before
    /// anything changes.
    public func activateTOTP(
        userID: Int64, pending: Data, step: Int64, recoveryCodes: [Data], keeping current: TokenDigest,
        as replacement: TokenDigest, messages: [OutboxMessage]
    ) async throws -> Bool {
        let (token, newToken) = (current.bytes, replacement.bytes)
        let codes = recoveryCodes.map { ByteBuffer(bytes: $0) }
        let logger = self.logger
        return try await transaction { connection in
            let user = try await connection.query(
                "SELECT 1 FROM users WHERE id = \(userID) FOR UPDATE", logger: logger
            ).collect()
            guard user.count == 1 else { return false }
            let session = try await connection.query(
                "SELECT 1 FROM sessions WHERE token_hash = \(token) AND user_id = \(userID) FOR UPDATE", logger: logger
            ).collect()
            guard session.count == 1 else { return false }
            let activated = try await connection.query(
                """
                UPDATE mfa_factors
                SET totp_secret = pending_secret, pending_secret = NULL, last_step = \(step), revision = revision + 1
                WHERE user_id = \(userID) AND pending_secret = \(pending) AND totp_secret IS NULL
                RETURNING 1
                """,
                logger: logger
            ).collect()
            guard activated.count == 1 else { return false }
            try await Self.storeRecoveryCodes(connection, userID: userID, digests: codes, logger: logger)
            // The flag the session insert checks under the user's row lock: a login that checked
            // its password before this and inserts after gets no session without its code.
            try await connection.query("UPDATE users SET mfa_enabled = true WHERE id = \(userID)", logger: logger)
            try await connection.query("DELETE FROM mfa_tokens WHERE user_id = \(userID)", logger: logger)
            try await connection.query(
                "DELETE FROM sessions WHERE user_id = \(userID) AND token_hash <> \(token)", logger: logger)
            try await connection.query(
                "UPDATE sessions SET token_hash = \(newToken), aal = 2 WHERE token_hash = \(token)", logger: logger)
            try await Self.insert(messages, on: connection, logger: logger)
            return true
        }
    }

    /// Records the step in one conditional statement. Of two requests with one code, the second
    /// waits for the first's row lock, then finds the step taken (READ COMMITTED checks the
    /// condition again on the updated row).
    public func acceptTOTPStep(userID: Int64, step: Int64, secret: Data, resealed: Data?) async throws -> Bool {
        try await call { client in
            try await client.query(
                """
                UPDATE mfa_factors SET last_step = \(step), totp_secret = coalesce(\(resealed)::bytea, totp_secret)
                WHERE user_id = \(userID) AND totp_secret = \(secret) AND (last_step IS NULL OR last_step < \(step))
                RETURNING 1
                """,
                logger: self.logger
            ).collect().count == 1
        }
    }

    /// Deletes one matching code, then counts the rest, in one transaction; the delete is the
    /// claim, so of two requests with one code only one deletes it.
    public func consumeRecoveryCode(userID: Int64, digests: [Data], messages: [OutboxMessage]) async throws -> Int? {
        if digests.isEmpty { return nil }
        let candidates = digests.map { ByteBuffer(bytes: $0) }
        let logger = self.logger
        return try await transaction { connection in
            let deleted = try await connection.query(
                """
                DELETE FROM recovery_codes WHERE user_id = \(userID) AND digest = (
                    SELECT digest FROM recovery_codes
                    WHERE user_id = \(userID) AND digest = ANY(\(candidates)::bytea[]) LIMIT 1
                )
                RETURNING 1
                """,
                logger: logger
            ).collect()
            guard deleted.count == 1 else { return nil }
            try await Self.insert(messages, on: connection, logger: logger)
            let left = try await connection.query(
                "SELECT count(*) FROM recovery_codes WHERE user_id = \(userID)", logger: logger
            ).collect().first?.decode(Int64.self)
            return Int(left ?? 0)
        }
    }

    /// Moves the revision on, then replaces the codes, in one transaction, while the factor is
    /// active and at `revision`: of two replacements from one revision, the second waits for the
    /// first's row lock and then finds the revision moved.
    public func replaceRecoveryCodes(userID: Int64, digests: [Data], ifRevision revision: Int64) async throws -> Bool {
        let codes = digests.map { ByteBuffer(bytes: $0) }
        let logger = self.logger
        return try await transaction { connection in
            try await connection.query("SELECT 1 FROM users WHERE id = \(userID) FOR UPDATE", logger: logger)
            let moved = try await connection.query(
                """
                UPDATE mfa_factors SET revision = revision + 1
                WHERE user_id = \(userID) AND totp_secret IS NOT NULL AND revision = \(revision)
                RETURNING 1
                """,
                logger: logger
            ).collect()
            guard moved.count == 1 else { return false }
            try await Self.storeRecoveryCodes(connection, userID: userID, digests: codes, logger: logger)
            return true
        }
    }

    /// Deletes the factor (at `revision`, when given), the codes and the login tokens and brings
    /// the sessions to level 1, in one transaction.
    public func deleteSecondFactor(userID: Int64, ifRevision revision: Int64?, messages: [OutboxMessage]) async throws
        -> Bool
    {
        let logger = self.logger
        return try await transaction { connection in
            try await connection.query("SELECT 1 FROM users WHERE id = \(userID) FOR UPDATE", logger: logger)
            let deleted = try await connection.query(
                """
                DELETE FROM mfa_factors
                WHERE user_id = \(userID) AND (\(revision)::bigint IS NULL OR revision = \(revision)::bigint)
                RETURNING totp_secret IS NOT NULL
                """,
                logger: logger
            ).collect()
            // A factor changed meanwhile: nothing changes.
            if revision != nil, deleted.isEmpty { return false }
            let active = try deleted.first?.decode(Bool.self)
            try await connection.query("UPDATE users SET mfa_enabled = false WHERE id = \(userID)", logger: logger)
            try await connection.query("DELETE FROM recovery_codes WHERE user_id = \(userID)", logger: logger)
            try await connection.query("DELETE FROM mfa_tokens WHERE user_id = \(userID)", logger: logger)
            try await connection.query("UPDATE sessions SET aal = 1 WHERE user_id = \(userID)", logger: logger)
            if active == true { try await Self.insert(messages, on: connection, logger: logger) }
            return active ?? false
        }
    }

    /// Inserts the token; the foreign key turns a missing user into `StoreError.notFound`.
    public func addLoginChallenge(_ token: LoginChallenge) async throws {
        try StoreError.checkText(token.passwordHash)
        let (digest, userID, hash) = (token.tokenDigest.bytes, token.userID, token.passwordHash)
        let expires = token.expiresAt.timeIntervalSince1970
        try await call { client in
            _ = try await client.query(
                """
                INSERT INTO mfa_tokens (token_hash, user_id, password_hash, expires_at)
                VALUES (\(digest), \(userID), \(hash), \(expires))
                """,
                logger: self.logger
            ).collect()
        }
    }

    /// Reads a token by its primary key, expired or not.
    public func findLoginChallenge(digest: TokenDigest) async throws -> LoginChallenge? {
        let bytes = digest.bytes
        let rows = try await call { client in
            try await client.query(
                "SELECT user_id, password_hash, expires_at FROM mfa_tokens WHERE token_hash = \(bytes)",
                logger: self.logger
            ).collect()
        }
        return try rows.first.map { row in
            let (userID, hash, expires) = try row.decode((Int64, String, Double).self)
            return LoginChallenge(
                tokenDigest: digest, userID: userID, passwordHash: hash, expiresAt: Date(timeIntervalSince1970: expires)
            )
        }
    }

    /// Deletes the expired tokens and returns them, in one statement: of two nodes asking at once,
    /// each row goes to one.
    public func takeExpiredLoginChallenges(now: Date) async throws -> [LoginChallenge] {
        let nowSeconds = now.timeIntervalSince1970
        let rows = try await call { client in
            try await client.query(
                """
                DELETE FROM mfa_tokens WHERE expires_at <= \(nowSeconds)
                RETURNING token_hash, user_id, password_hash, expires_at
                """,
                logger: self.logger
            ).collect()
        }
        return try rows.map { row in
            let (digest, userID, hash, expires) = try row.decode((Data, Int64, String, Double).self)
            return LoginChallenge(
                tokenDigest: TokenDigest(bytes: digest), userID: userID, passwordHash: hash,
                expiresAt: Date(timeIntervalSince1970: expires))
        }
    }

    /// Deletes the token; the delete is the claim, so one caller gets `true`.
    public func deleteLoginChallenge(digest: TokenDigest) async throws -> Bool {
        let bytes = digest.bytes
        return try await call { client in
            try await !client.query(
                "DELETE FROM mfa_tokens WHERE token_hash = \(bytes) RETURNING 1", logger: self.logger
            ).collect().isEmpty
        }
    }

    /// Reads up to `limit` active secrets, in no particular order.
    public func sampleTOTPSecrets(limit: Int) async throws -> [(userID: Int64, secret: Data)] {
        if limit <= 0 { return [] }
        // A client of its own, as the migrations use: the start-up check runs before `run()`.
        let logger = self.logger
        let rows = try await withOwnClient { client in
            try await Deadline.run(.seconds(10)) {
                try await client.query(
                    "SELECT user_id, totp_secret FROM mfa_factors WHERE totp_secret IS NOT NULL LIMIT \(limit)",
                    logger: logger
                ).collect()
            }
        }
        return try rows.map { row in
            let (userID, secret) = try row.decode((Int64, Data).self)
            return (userID: userID, secret: secret)
        }
    }

    /// Replaces every recovery code of a user inside the caller's transaction, the new ones in one
    /// statement (an array unnested). A digest given twice is stored once.
    private static func storeRecoveryCodes(
        _ connection: PostgresConnection, userID: Int64, digests: [ByteBuffer], logger: Logger
    ) async throws {
        try await connection.query("DELETE FROM recovery_codes WHERE user_id = \(userID)", logger: logger)
        if digests.isEmpty { return }
        try await connection.query(
            """
            INSERT INTO recovery_codes (user_id, digest)
            SELECT \(userID), digest FROM unnest(\(digests)::bytea[]) AS codes (digest)
            ON CONFLICT DO NOTHING
            """,
            logger: logger)
    }
}
