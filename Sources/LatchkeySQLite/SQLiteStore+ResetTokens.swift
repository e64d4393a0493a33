import Foundation
import GRDB
import LatchkeyCore

extension SQLiteStore {
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

    /// Consumes the token, stores the new hash, drops the verification and second-factor login
    /// tokens and, when asked, deletes the user's sessions, in one transaction.
    public func resetPassword(
        userID: Int64, digest: TokenDigest, passwordHash: String, now: Date, endingSessions: Bool
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
            if endingSessions {
                try db.execute(sql: "DELETE FROM sessions WHERE user_id = ?", arguments: [userID])
            }
            // A pending email change (asked, perhaps, by whoever the reset locks out) goes too,
            // and so do the logins waiting for a code: they were bound to the old hash.
            try db.execute(sql: "DELETE FROM verification_tokens WHERE user_id = ?", arguments: [userID])
            try db.execute(sql: "DELETE FROM mfa_tokens WHERE user_id = ?", arguments: [userID])
            return true
        }
    }

    /// Deletes sessions past their absolute or idle expiry, and expired reset, verification and
    /// second-factor login tokens.
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
            result.mfaTokens = db.changesCount
            return result
        }
    }
}
