import Foundation
import GRDB
import LatchkeyCore

extension SQLiteStore {
    /// Stores the user's reset token, replacing an earlier one (one row per user).
    public func setResetToken(_ token: ResetToken, messages: [OutboxMessage]) async throws {
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
            try Self.insert(messages, in: db)
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

    /// Consumes the token, stores the new hash, drops the verification and second-factor login
    /// tokens and, when asked, deletes the user's sessions, in one transaction.
    public func resetPassword(
        userID: Int64, digest: TokenDigest, passwordHash: String, now: Date, revoking revocation: PasswordRevocation,
        messages: [OutboxMessage]
    ) async throws -> Bool {
        try StoreError.checkText(passwordHash)
        return try await write { db in
            // The delete is the claim: of two concurrent resets with one token, one deletes the row.
            try db.execute(
                sql: "DELETE FROM reset_tokens WHERE user_id = ? AND token_hash = ? AND expires_at > ?",
                arguments: [userID, digest.bytes, now.timeIntervalSince1970]
            )
            guard db.changesCount == 1 else { return false }
            try db.execute(sql: "UPDATE users SET password_hash = ? WHERE id = ?", arguments: [passwordHash, userID])
            try Self.revoke(revocation, userID: userID, keeping: nil, in: db)
            try Self.insert(messages, in: db)
            return true
        }
    }

    /// Deletes sessions past their absolute or idle expiry, and expired reset, verification and
    /// second-factor login tokens and pending claims.
    public func purgeExpired(now: Date, idleCutoff: Date) async throws -> PurgeResult {
        return try await write { db in
            try db.execute(
                sql: "DELETE FROM sessions WHERE expires_at <= ? OR last_seen_at <= ?",
                arguments: [now.timeIntervalSince1970, idleCutoff.timeIntervalSince1970]
            )
            let sessions = db.changesCount
            try db.execute(
                sql: "DELETE FROM reset_tokens WHERE expires_at <= ?", arguments: [now.timeIntervalSince1970])
            var result = PurgeResult(sessions: sessions, resetTokens: db.changesCount)
            try db.execute(
                sql: "DELETE FROM verification_tokens WHERE expires_at <= ?", arguments: [now.timeIntervalSince1970])
            result.verificationTokens = db.changesCount
            try db.execute(sql: "DELETE FROM mfa_tokens WHERE expires_at <= ?", arguments: [now.timeIntervalSince1970])
            result.loginChallenges = db.changesCount
            try db.execute(
                sql: "DELETE FROM pending_claims WHERE expires_at <= ?", arguments: [now.timeIntervalSince1970])
            result.pendingClaims = db.changesCount
            return result
        }
    }
}

extension SQLiteStore {
    /// Applies what a new password revokes (`PasswordRevocation`), inside the write that stores
    /// the hash.
    /// - Parameters:
    ///   - revocation: What goes.
    ///   - userID: The user.
    ///   - keeping: The session that stays, for a change from a session; `nil` for none.
    ///   - db: The write's connection.
    static func revoke(_ revocation: PasswordRevocation, userID: Int64, keeping: TokenDigest?, in db: Database) throws {
        if revocation.contains(.sessions) {
            if let keeping {
                try db.execute(
                    sql: "DELETE FROM sessions WHERE user_id = ? AND token_hash <> ?",
                    arguments: [userID, keeping.bytes])
            } else {
                try db.execute(sql: "DELETE FROM sessions WHERE user_id = ?", arguments: [userID])
            }
        }
        if revocation.contains(.resetToken) {
            try db.execute(sql: "DELETE FROM reset_tokens WHERE user_id = ?", arguments: [userID])
        }
        if revocation.contains(.verificationToken) {
            try db.execute(sql: "DELETE FROM verification_tokens WHERE user_id = ?", arguments: [userID])
        }
        if revocation.contains(.loginChallenges) {
            try db.execute(sql: "DELETE FROM mfa_tokens WHERE user_id = ?", arguments: [userID])
        }
        if revocation.contains(.pendingClaim) {
            try db.execute(sql: "DELETE FROM pending_claims WHERE user_id = ?", arguments: [userID])
        }
    }
}
