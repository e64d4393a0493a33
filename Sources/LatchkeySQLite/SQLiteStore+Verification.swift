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
    public func setVerificationToken(_ token: VerificationToken, messages: [OutboxMessage]) async throws {
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
            try Self.insert(messages, in: db)
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
    public func consumeVerificationToken(
        _ token: VerificationToken, now: Date, proving proof: MailboxProof?, messages: [OutboxMessage]
    ) async throws -> VerificationResult {
        if token.email.utf8.contains(0) { return .invalid }
        if let proof { try StoreError.checkText(proof.passwordHash) }
        return try await write { db in
            guard
                try Bool.fetchOne(
                    db,
                    sql: """
                        SELECT 1 FROM verification_tokens
                        WHERE user_id = ? AND token_hash = ? AND email = ? AND expires_at > ?
                        """,
                    arguments: [token.userID, token.tokenDigest.bytes, token.email, now.timeIntervalSince1970]) == true,
                let user = try Row.fetchOne(
                    db, sql: "SELECT email, email_verified FROM users WHERE id = ?", arguments: [token.userID])
            else { return .invalid }
            let (current, verified): (String, Bool) = (user[0], user[1])
            let changing = !current.utf8.elementsEqual(token.email.utf8)
            if changing,
                try Bool.fetchOne(db, sql: "SELECT 1 FROM users WHERE email = ?", arguments: [token.email]) == true
            {
                return .taken
            }
            guard changing else {
                if !verified {
                    if let proof {
                        try db.execute(
                            sql: "UPDATE users SET password_hash = ? WHERE id = ?",
                            arguments: [proof.passwordHash, token.userID])
                        try Self.revoke(proof.revoking, userID: token.userID, keeping: nil, in: db)
                    } else if try Bool.fetchOne(
                        db, sql: "SELECT 1 FROM pending_claims WHERE user_id = ? AND expires_at > ?",
                        arguments: [token.userID, now.timeIntervalSince1970]) == true
                    {
                        return .claimPending
                    }
                }
                try db.execute(sql: "DELETE FROM verification_tokens WHERE user_id = ?", arguments: [token.userID])
                try db.execute(sql: "UPDATE users SET email_verified = 1 WHERE id = ?", arguments: [token.userID])
                return .verified
            }
            try db.execute(sql: "DELETE FROM verification_tokens WHERE user_id = ?", arguments: [token.userID])
            try db.execute(
                sql: "UPDATE users SET email = ?, email_verified = 1 WHERE id = ?",
                arguments: [token.email, token.userID])
            try db.execute(sql: "DELETE FROM email_conflicts WHERE user_id = ?", arguments: [token.userID])
            // A reset token went to the old mailbox: it must not work for the new address; a
            // claim was of the old address.
            try db.execute(sql: "DELETE FROM reset_tokens WHERE user_id = ?", arguments: [token.userID])
            try db.execute(sql: "DELETE FROM pending_claims WHERE user_id = ?", arguments: [token.userID])
            try Self.insert(messages, in: db)
            return .changed(from: current)
        }
    }

    /// Upserts the claim, only while the user's address is not verified.
    public func setPendingClaim(_ claim: PendingClaim) async throws -> Bool {
        try StoreError.checkText(claim.passwordHash)
        return try await write { db in
            try db.execute(
                sql: """
                    INSERT INTO pending_claims (user_id, password_hash, created_at, expires_at)
                    SELECT id, ?, ?, ? FROM users WHERE id = ? AND NOT email_verified
                    ON CONFLICT(user_id) DO UPDATE SET
                        password_hash = excluded.password_hash,
                        created_at = excluded.created_at,
                        expires_at = excluded.expires_at
                    """,
                arguments: [
                    claim.passwordHash, claim.createdAt.timeIntervalSince1970, claim.expiresAt.timeIntervalSince1970,
                    claim.userID,
                ])
            return db.changesCount == 1
        }
    }

    /// Reads the user's claim.
    public func pendingClaim(userID: Int64) async throws -> PendingClaim? {
        try readHere { db in
            try Row.fetchOne(
                db, sql: "SELECT password_hash, created_at, expires_at FROM pending_claims WHERE user_id = ?",
                arguments: [userID]
            ).map { row in
                PendingClaim(
                    userID: userID, passwordHash: row[0], createdAt: Date(timeIntervalSince1970: row[1]),
                    expiresAt: Date(timeIntervalSince1970: row[2]))
            }
        }
    }
}
