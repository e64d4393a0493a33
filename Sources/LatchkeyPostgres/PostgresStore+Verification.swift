import Foundation
import LatchkeyCore
import PostgresNIO

extension PostgresStore {
    /// Sets the user's `email_verified`.
    public func setEmailVerified(userID: Int64, _ verified: Bool) async throws -> Bool {
        try await call { client in
            try await !client.query(
                "UPDATE users SET email_verified = \(verified) WHERE id = \(userID) RETURNING 1", logger: self.logger
            ).collect().isEmpty
        }
    }

    /// Stores the user's verification token, replacing an earlier one (one row per user);
    /// `StoreError.notFound` when the user is gone.
    public func setVerificationToken(_ token: VerificationToken, messages: [OutboxMessage]) async throws {
        try StoreError.checkText(token.email)
        let (userID, email, digest) = (token.userID, token.email, token.tokenDigest.bytes)
        let (created, expires) = (token.createdAt.timeIntervalSince1970, token.expiresAt.timeIntervalSince1970)
        let stored = try await writing(messages) { connection in
            try await connection.query(
                """
                INSERT INTO verification_tokens (user_id, email, token_hash, created_at, expires_at)
                SELECT id, \(email), \(digest), \(created), \(expires) FROM users WHERE id = \(userID)
                ON CONFLICT (user_id) DO UPDATE SET
                    email = excluded.email,
                    token_hash = excluded.token_hash,
                    created_at = excluded.created_at,
                    expires_at = excluded.expires_at
                RETURNING 1
                """,
                logger: self.logger
            ).collect().count == 1
        }
        guard stored else { throw StoreError.notFound }
    }

    /// Reads a pending verification token by its digest.
    public func findVerificationToken(digest: TokenDigest) async throws -> VerificationToken? {
        let bytes = digest.bytes
        let rows = try await call { client in
            try await client.query(
                "SELECT user_id, email, created_at, expires_at FROM verification_tokens WHERE token_hash = \(bytes)",
                logger: self.logger
            ).collect()
        }
        return try rows.first.map { row in
            let (userID, email, created, expires) = try row.decode((Int64, String, Double, Double).self)
            return VerificationToken(
                userID: userID, email: email, tokenDigest: digest, createdAt: Date(timeIntervalSince1970: created),
                expiresAt: Date(timeIntervalSince1970: expires))
        }
    }

    /// Claims the token and applies it in one transaction. The user's row is locked first (as a
    /// reset and a password change do); the unique index decides a race for a new address, and
    /// a taken one rolls the claim back.
    public func consumeVerificationToken(
        _ token: VerificationToken, now: Date, proving proof: MailboxProof?, messages: [OutboxMessage]
    ) async throws -> VerificationResult {
        if token.email.utf8.contains(0) { return .invalid }
        if let proof { try StoreError.checkText(proof.passwordHash) }
        let (userID, email, digest) = (token.userID, token.email, token.tokenDigest.bytes)
        let nowSeconds = now.timeIntervalSince1970
        let logger = self.logger
        do {
            return try await transaction { connection in
                let row = try await connection.query(
                    "SELECT email, email_verified FROM users WHERE id = \(userID) FOR UPDATE", logger: logger
                ).collect().first
                guard let (current, verified) = try row?.decode((String, Bool).self) else { return .invalid }
                let changing = !current.utf8.elementsEqual(email.utf8)
                if !changing, !verified, proof == nil {
                    // Under the user's row lock: a claim stored by a registration is seen here.
                    let claimed = try await connection.query(
                        "SELECT 1 FROM pending_claims WHERE user_id = \(userID) AND expires_at > \(nowSeconds)",
                        logger: logger
                    ).collect()
                    if !claimed.isEmpty {
                        let live = try await connection.query(
                            """
                            SELECT 1 FROM verification_tokens
                            WHERE user_id = \(userID) AND token_hash = \(digest) AND email = \(email)
                                AND expires_at > \(nowSeconds)
                            """,
                            logger: logger
                        ).collect()
                        return live.isEmpty ? .invalid : .claimPending
                    }
                }
                let consumed = try await connection.query(
                    """
                    DELETE FROM verification_tokens
                    WHERE user_id = \(userID) AND token_hash = \(digest) AND email = \(email) AND expires_at > \(nowSeconds)
                    RETURNING 1
                    """,
                    logger: logger
                ).collect()
                guard consumed.count == 1 else { return .invalid }
                guard changing else {
                    if !verified, let proof {
                        let hash = proof.passwordHash
                        try await connection.query(
                            "UPDATE users SET password_hash = \(hash) WHERE id = \(userID)", logger: logger)
                        try await Self.revoke(
                            proof.revoking, userID: userID, keeping: nil, on: connection, logger: logger)
                    }
                    try await connection.query(
                        "UPDATE users SET email_verified = true WHERE id = \(userID)", logger: logger)
                    return .verified
                }
                try await connection.query(
                    "UPDATE users SET email = \(email), email_verified = true WHERE id = \(userID)", logger: logger)
                try await connection.query("DELETE FROM email_conflicts WHERE user_id = \(userID)", logger: logger)
                // A reset token went to the old mailbox: it must not work for the new address; a
                // claim was of the old address.
                try await connection.query("DELETE FROM reset_tokens WHERE user_id = \(userID)", logger: logger)
                try await connection.query("DELETE FROM pending_claims WHERE user_id = \(userID)", logger: logger)
                try await Self.insert(messages, on: connection, logger: logger)
                return .changed(from: current)
            }
        } catch StoreError.duplicateEmail {
            return .taken
        }
    }

    /// Upserts the claim in one statement, only while the user's address is not verified.
    public func setPendingClaim(_ claim: PendingClaim) async throws -> Bool {
        try StoreError.checkText(claim.passwordHash)
        let (userID, hash) = (claim.userID, claim.passwordHash)
        let (created, expires) = (claim.createdAt.timeIntervalSince1970, claim.expiresAt.timeIntervalSince1970)
        return try await call { client in
            try await client.query(
                """
                INSERT INTO pending_claims (user_id, password_hash, created_at, expires_at)
                SELECT id, \(hash), \(created), \(expires) FROM users WHERE id = \(userID) AND NOT email_verified
                ON CONFLICT (user_id) DO UPDATE SET
                    password_hash = excluded.password_hash,
                    created_at = excluded.created_at,
                    expires_at = excluded.expires_at
                RETURNING 1
                """,
                logger: self.logger
            ).collect().count == 1
        }
    }

    /// Reads the user's claim.
    public func pendingClaim(userID: Int64) async throws -> PendingClaim? {
        let rows = try await call { client in
            try await client.query(
                "SELECT password_hash, created_at, expires_at FROM pending_claims WHERE user_id = \(userID)",
                logger: self.logger
            ).collect()
        }
        return try rows.first.map { row in
            let (hash, created, expires) = try row.decode((String, Double, Double).self)
            return PendingClaim(
                userID: userID, passwordHash: hash, createdAt: Date(timeIntervalSince1970: created),
                expiresAt: Date(timeIntervalSince1970: expires))
        }
    }
}
