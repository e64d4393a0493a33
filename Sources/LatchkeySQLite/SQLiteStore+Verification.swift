import Foundation
import GRDB
import LatchkeyCore

extension SQLiteStore {
    /// Sets the user's `email_verified`.
    public func setEmailVerified(userID: Int64, _ verified: Bool) async throws -> Bool {
        try await write { db in
            try db.execute(sql: "UPDATE users SET email_verified = ? WHERE id = ?", arguments: [verified, userID])
            return db.changesCount == 1
        }
    }

    /// Stores the user's verification token, replacing an earlier one (one row per user).
    public func setVerificationToken(_ token: VerificationToken) async throws {
        try StoreError.checkText(token.email)
        try await write { db in
            try db.execute(
                sql: """
                    INSERT INTO verification_tokens (user_id, email, token_hash, created_at, expires_at)
                    VALUES (?, ?, ?, ?, ?)
                    ON CONFLICT(user_id) DO UPDATE SET
                        email = excluded.email,
                        token_hash = excluded.token_hash,
                        created_at = excluded.created_at,
                        expires_at = excluded.expires_at
                    """,
                arguments: [
                    token.userID, token.email, token.tokenDigest.bytes, token.createdAt.timeIntervalSince1970,
                    token.expiresAt.timeIntervalSince1970,
                ])
        }
    }

    /// Reads a pending verification token by its digest.
    public func findVerificationToken(digest: TokenDigest) async throws -> VerificationToken? {
        try readHere { db in
            try Row.fetchOne(
                db,
                sql: "SELECT user_id, email, created_at, expires_at FROM verification_tokens WHERE token_hash = ?",
                arguments: [digest.bytes]
            ).map { row in
                VerificationToken(
                    userID: row[0], email: row[1], tokenDigest: digest, createdAt: Date(timeIntervalSince1970: row[2]),
                    expiresAt: Date(timeIntervalSince1970: row[3]))
            }
        }
    }

    /// Claims the token and applies it, in one write transaction (SQLite runs one at a time, so
    /// the checks hold until the changes).
    public func consumeVerificationToken(_ token: VerificationToken, now: Date) async throws -> VerificationResult {
        if token.email.utf8.contains(0) { return .invalid }
        return try await write { db in
            guard
                try Bool.fetchOne(
                    db,
                    sql: """
                        SELECT 1 FROM verification_tokens
                        WHERE user_id = ? AND token_hash = ? AND email = ? AND expires_at > ?
                        """,
                    arguments: [token.userID, token.tokenDigest.bytes, token.email, now.timeIntervalSince1970]) == true,
                let current = try String.fetchOne(
                    db, sql: "SELECT email FROM users WHERE id = ?", arguments: [token.userID])
            else { return .invalid }
            let changing = !current.utf8.elementsEqual(token.email.utf8)
            if changing,
                try Bool.fetchOne(db, sql: "SELECT 1 FROM users WHERE email = ?", arguments: [token.email]) == true
            {
                return .taken
            }
            try db.execute(sql: "DELETE FROM verification_tokens WHERE user_id = ?", arguments: [token.userID])
            guard changing else {
                try db.execute(sql: "UPDATE users SET email_verified = 1 WHERE id = ?", arguments: [token.userID])
                return .verified
            }
            try db.execute(
                sql: "UPDATE users SET email = ?, email_verified = 1 WHERE id = ?",
                arguments: [token.email, token.userID])
            try db.execute(sql: "DELETE FROM email_conflicts WHERE user_id = ?", arguments: [token.userID])
            // A reset token went to the old mailbox: it must not work for the new address.
            try db.execute(sql: "DELETE FROM reset_tokens WHERE user_id = ?", arguments: [token.userID])
            return .changed(from: current)
        }
    }
}
