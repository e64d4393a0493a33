import Foundation
import LatchkeyCore
import Logging
import PostgresNIO

extension PostgresStore {
    /// Stores the user's reset token, replacing an earlier one (one row per user).
    public func setResetToken(_ token: ResetToken, messages: [OutboxMessage]) async throws {
        let digest = token.tokenDigest.bytes
        let created = token.createdAt.timeIntervalSince1970
        let expires = token.expiresAt.timeIntervalSince1970
        let userID = token.userID
        _ = try await writing(messages) { connection in
            _ = try await connection.query(
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
            return true
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

    /// Consumes the token, stores the new hash, drops the verification and second-factor login
    /// tokens and, when asked, deletes the user's sessions, in one transaction. The statements
    /// run one by one (each with a fresh snapshot under READ COMMITTED), so the session delete
    /// sees a session that a concurrent login committed while the update waited for its share
    /// lock.
    public func resetPassword(
        userID: Int64, digest: TokenDigest, passwordHash: String, now: Date, revoking revocation: PasswordRevocation,
        messages: [OutboxMessage]
    ) async throws -> Bool {
        try StoreError.checkText(passwordHash)
        let token = digest.bytes
        let nowSeconds = now.timeIntervalSince1970
        let logger = self.logger
        return try await transaction { connection in
            // The user's row first, as a password change from a session locks it first: taken in
            // the same order, the two cannot deadlock.
            try await connection.query("SELECT 1 FROM users WHERE id = \(userID) FOR UPDATE", logger: logger)
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
            try await Self.revoke(revocation, userID: userID, keeping: nil, on: connection, logger: logger)
            try await Self.insert(messages, on: connection, logger: logger)
            return true
        }
    }

    /// Deletes sessions past their absolute or idle expiry, and expired reset, verification and
    /// second-factor login tokens.
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
            var result = PurgeResult(sessions: sessions, resetTokens: tokens)
            result.verificationTokens = try await client.query(
                "DELETE FROM verification_tokens WHERE expires_at <= \(nowSeconds) RETURNING 1", logger: self.logger
            ).collect().count
            result.loginChallenges = try await client.query(
                "DELETE FROM mfa_tokens WHERE expires_at <= \(nowSeconds) RETURNING 1", logger: self.logger
            ).collect().count
            result.pendingClaims = try await client.query(
                "DELETE FROM pending_claims WHERE expires_at <= \(nowSeconds) RETURNING 1", logger: self.logger
            ).collect().count
            return result
        }
    }
}

extension PostgresStore {
    /// Applies what a new password revokes (`PasswordRevocation`), inside the transaction that
    /// stores the hash.
    /// - Parameters:
    ///   - revocation: What goes.
    ///   - userID: The user.
    ///   - keeping: The session that stays, for a change from a session; `nil` for none.
    ///   - connection: The transaction's connection.
    ///   - logger: The store's logger.
    static func revoke(
        _ revocation: PasswordRevocation, userID: Int64, keeping: TokenDigest?, on connection: PostgresConnection,
        logger: Logger
    ) async throws {
        if revocation.contains(.sessions) {
            if let keeping {
                let token = keeping.bytes
                try await connection.query(
                    "DELETE FROM sessions WHERE user_id = \(userID) AND token_hash <> \(token)", logger: logger)
            } else {
                try await connection.query("DELETE FROM sessions WHERE user_id = \(userID)", logger: logger)
            }
        }
        if revocation.contains(.resetToken) {
            try await connection.query("DELETE FROM reset_tokens WHERE user_id = \(userID)", logger: logger)
        }
        if revocation.contains(.verificationToken) {
            try await connection.query("DELETE FROM verification_tokens WHERE user_id = \(userID)", logger: logger)
        }
        if revocation.contains(.loginChallenges) {
            try await connection.query("DELETE FROM mfa_tokens WHERE user_id = \(userID)", logger: logger)
        }
        if revocation.contains(.pendingClaim) {
            try await connection.query("DELETE FROM pending_claims WHERE user_id = \(userID)", logger: logger)
        }
    }
}
