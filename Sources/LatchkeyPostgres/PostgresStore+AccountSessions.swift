import Foundation
import LatchkeyCore
import PostgresNIO

extension PostgresStore {
    /// The user's live sessions, newest first, with their address and agent.
    public func listSessions(userID: Int64, now: Date, idleCutoff: Date) async throws -> [Session] {
        let (nowSeconds, cutoff) = (now.timeIntervalSince1970, idleCutoff.timeIntervalSince1970)
        let rows = try await call { client in
            try await client.query(
                """
                SELECT token_hash, created_at, last_seen_at, expires_at, public_id, ip, user_agent, aal FROM sessions
                WHERE user_id = \(userID) AND expires_at > \(nowSeconds) AND last_seen_at > \(cutoff)
                ORDER BY created_at DESC, public_id DESC
                """,
                logger: self.logger
            ).collect()
        }
        return try rows.map { row in
            let (token, created, lastSeen, expires, publicID, ip, agent, aal) = try row.decode(
                (Data, Double, Double, Double, String, String?, String?, Int).self)
            return Session(
                tokenDigest: TokenDigest(bytes: token), userID: userID,
                createdAt: Date(timeIntervalSince1970: created), lastSeenAt: Date(timeIntervalSince1970: lastSeen),
                expiresAt: Date(timeIntervalSince1970: expires), publicID: publicID,
                origin: SessionOrigin(ip: ip, userAgent: agent), aal: aal)
        }
    }

    /// Deletes one live session of the user by its public identifier.
    public func deleteSession(userID: Int64, publicID: String, now: Date, idleCutoff: Date) async throws -> Bool {
        // A public identifier is hexadecimal; anything else (a NUL, which PostgreSQL's text
        // refuses) names no session.
        guard Session.isWellFormedPublicID(publicID) else { return false }
        let (nowSeconds, cutoff) = (now.timeIntervalSince1970, idleCutoff.timeIntervalSince1970)
        return try await call { client in
            try await !client.query(
                """
                DELETE FROM sessions
                WHERE public_id = \(publicID) AND user_id = \(userID)
                    AND expires_at > \(nowSeconds) AND last_seen_at > \(cutoff)
                RETURNING 1
                """,
                logger: self.logger
            ).collect().isEmpty
        }
    }

    /// Deletes the user's live sessions but one; returns how many went.
    public func deleteSessions(userID: Int64, except digest: TokenDigest, now: Date, idleCutoff: Date) async throws
        -> Int
    {
        let token = digest.bytes
        let (nowSeconds, cutoff) = (now.timeIntervalSince1970, idleCutoff.timeIntervalSince1970)
        return try await call { client in
            try await client.query(
                """
                DELETE FROM sessions
                WHERE user_id = \(userID) AND token_hash <> \(token)
                    AND expires_at > \(nowSeconds) AND last_seen_at > \(cutoff)
                RETURNING 1
                """,
                logger: self.logger
            ).collect().count
        }
    }

    /// Changes the hash, ends the other sessions, drops the reset token and re-keys the current
    /// session (keeping its assurance level), in one transaction. The user's row is locked first, so a reset or another change
    /// either commits before (and the hash no longer matches) or waits.
    public func changePassword(
        userID: Int64, from old: String, to new: String, keeping current: TokenDigest, as replacement: TokenDigest,
        revoking revocation: PasswordRevocation, messages: [OutboxMessage]
    ) async throws -> Bool {
        try StoreError.checkText(new)
        if old.utf8.contains(0) { return false }
        let (token, newToken) = (current.bytes, replacement.bytes)
        let logger = self.logger
        return try await transaction { connection in
            let locked = try await connection.query(
                "SELECT 1 FROM users WHERE id = \(userID) AND password_hash = \(old) FOR UPDATE", logger: logger
            ).collect()
            guard locked.count == 1 else { return false }
            let rekeyed = try await connection.query(
                """
                UPDATE sessions SET token_hash = \(newToken) WHERE token_hash = \(token) AND user_id = \(userID)
                RETURNING 1
                """,
                logger: logger
            ).collect()
            guard rekeyed.count == 1 else { return false }
            try await connection.query(
                "UPDATE users SET password_hash = \(new) WHERE id = \(userID)", logger: logger)
            try await Self.revoke(revocation, userID: userID, keeping: replacement, on: connection, logger: logger)
            try await Self.insert(messages, on: connection, logger: logger)
            return true
        }
    }
}
