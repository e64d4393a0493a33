import Foundation
import LatchkeyCore
import PostgresNIO

extension PostgresStore: AdminStore {
    /// Lists users by email with their live session counts.
    public func listUsers(after: String?, limit: Int, now: Date, idleCutoff: Date) async throws -> [UserSummary] {
        let after = after ?? ""
        if after.utf8.contains(0) { return [] }
        let nowSeconds = now.timeIntervalSince1970
        let cutoff = idleCutoff.timeIntervalSince1970
        return try await call { client in
            try await client.query(
                """
                SELECT u.id, u.email, u.created_at,
                    (SELECT count(*) FROM sessions s
                     WHERE s.user_id = u.id AND s.expires_at > \(nowSeconds) AND s.last_seen_at > \(cutoff)),
                    u.email_verified,
                    u.mfa_enabled
                FROM users u WHERE u.email > \(after) ORDER BY u.email LIMIT \(limit)
                """,
                logger: self.logger
            ).collect().map { row in
                let (id, email, created, live, verified, mfa) = try row.decode(
                    (Int64, String, Double, Int64, Bool, Bool).self)
                return UserSummary(
                    id: id, email: email, createdAt: Date(timeIntervalSince1970: created), liveSessions: Int(live),
                    emailVerified: verified, secondFactorEnabled: mfa)
            }
        }
    }

    /// Deletes a user; sessions, tokens, activity and the second factor go with it (`ON DELETE
    /// CASCADE`), and its pending token messages, in one transaction.
    public func deleteUser(id: Int64, messages: [OutboxMessage]) async throws -> Bool {
        let logger = self.logger
        return try await transaction { connection in
            let deleted = try await connection.query("DELETE FROM users WHERE id = \(id) RETURNING 1", logger: logger)
                .collect()
            guard deleted.count == 1 else { return false }
            try await connection.query(
                "DELETE FROM outbox WHERE user_id = \(id) AND carries_token AND status = 'pending'", logger: logger)
            try await Self.insert(messages, on: connection, logger: logger)
            return true
        }
    }

    /// Adds many users in one statement (arrays unnested), in one transaction; taken emails
    /// are skipped, and of an email given twice only the first is added. An import may be
    /// large: it runs on a client of its own, without a request's deadline.
    public func addUsers(_ users: [NewUser]) async throws -> [Bool] {
        for user in users { try StoreError.checkText(user.email, user.passwordHash) }
        let logger = self.logger
        let emails = users.map(\.email)
        let hashes = users.map(\.passwordHash)
        let created = users.map { $0.createdAt.timeIntervalSince1970 }
        let insertedEmails = try await withOwnClient { client in
            try await client.withTransaction(logger: logger) { connection in
                try await connection.query(
                    """
                    INSERT INTO users (email, password_hash, created_at)
                    SELECT * FROM unnest(\(emails)::text[], \(hashes)::text[], \(created)::double precision[])
                    ON CONFLICT (email) DO NOTHING RETURNING email
                    """,
                    logger: logger
                ).collect().map { try $0.decode(String.self) }
            }
        }
        // Compared as bytes: two spellings of one text that Swift deems equal are two emails here.
        var inserted = Set(insertedEmails.map { Array($0.utf8) })
        return users.map { inserted.remove(Array($0.email.utf8)) != nil }
    }

    /// Adds many sessions in one transaction, on a client of its own.
    public func addSessions(_ sessions: [Session]) async throws {
        let logger = self.logger
        try await withOwnClient { client in
            try await client.withTransaction(logger: logger) { connection in
                for session in sessions {
                    let inserted = try await connection.query(try Self.insertSession(session), logger: logger).collect()
                    guard inserted.count == 1 else { throw StoreError.notFound }
                }
            }
        }
    }

    /// Every account listed among the email conflicts, by canonical form then id.
    public func emailConflicts() async throws -> [EmailConflict] {
        try await call { client in
            try await client.query(
                """
                SELECT c.user_id, u.email, c.canonical FROM email_conflicts c JOIN users u ON u.id = c.user_id
                ORDER BY coalesce(c.canonical, ''), c.user_id
                """,
                logger: self.logger
            ).collect().map { row in
                let (id, email, canonical) = try row.decode((Int64, String, String?).self)
                return EmailConflict(userID: id, email: email, canonical: canonical)
            }
        }
    }

    /// Gives an account another address and takes it off the email conflicts, in one
    /// transaction; the trigger of migration v3 updates its sessions' copies.
    public func renameUser(id: Int64, email: String) async throws -> Bool {
        try StoreError.checkText(email)
        let logger = self.logger
        return try await transaction { connection in
            let renamed = try await !connection.query(
                // An address an operator gives is not proven, and a token pending for the old one
                // must not move the account back.
                "UPDATE users SET email = \(email), email_verified = false WHERE id = \(id) RETURNING 1", logger: logger
            ).collect().isEmpty
            if renamed {
                try await connection.query("DELETE FROM email_conflicts WHERE user_id = \(id)", logger: logger)
                try await connection.query("DELETE FROM verification_tokens WHERE user_id = \(id)", logger: logger)
                // A claim was of the old address.
                try await connection.query("DELETE FROM pending_claims WHERE user_id = \(id)", logger: logger)
            }
            return renamed
        }
    }
}
