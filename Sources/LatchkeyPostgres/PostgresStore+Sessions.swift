import Foundation
import LatchkeyCore
import PostgresNIO

extension PostgresStore {
    /// Inserts the session only while the user's password hash is still `passwordHash`. The
    /// user's row is read `FOR SHARE`, so a reset that changes the hash either commits first
    /// (and the insert finds no row) or waits for this insert and then deletes the session.
    public func addSession(_ session: Session, ifPasswordHash passwordHash: String) async throws -> Bool {
        // No stored hash holds a NUL, so none can match.
        if passwordHash.utf8.contains(0) { return false }
        let token = session.tokenDigest.bytes
        let created = session.createdAt.timeIntervalSince1970
        let lastSeen = session.lastSeenAt.timeIntervalSince1970
        let expires = session.expiresAt.timeIntervalSince1970
        let userID = session.userID
        return try await call { client in
            let rows = try await client.query(
                """
                INSERT INTO sessions (token_hash, user_id, email, created_at, last_seen_at, expires_at)
                SELECT \(token), id, email, \(created), \(lastSeen), \(expires) FROM (
                    SELECT id, email FROM users WHERE id = \(userID) AND password_hash = \(passwordHash) FOR SHARE
                ) AS checked
                RETURNING 1
                """,
                logger: self.logger
            ).collect()
            return rows.count == 1
        }
    }

    /// Reads a session, with its user's email, by its primary key.
    public func findSession(digest: TokenDigest) async throws -> (session: Session, user: SessionUser)? {
        let token = digest.bytes
        let rows = try await call { client in
            try await client.query(
                """
                SELECT user_id, created_at, last_seen_at, expires_at, email FROM sessions
                WHERE token_hash = \(token)
                """,
                logger: self.logger
            ).collect().map { row in
                let (userID, created, lastSeen, expires, email) = try row.decode(
                    (Int64, Double, Double, Double, String).self)
                let session = Session(
                    tokenDigest: digest,
                    userID: userID,
                    createdAt: Date(timeIntervalSince1970: created),
                    lastSeenAt: Date(timeIntervalSince1970: lastSeen),
                    expiresAt: Date(timeIntervalSince1970: expires)
                )
                return SessionAndUser(session: session, user: SessionUser(id: userID, email: email))
            }
        }
        return rows.first.map { ($0.session, $0.user) }
    }

    /// Updates the session's `last_seen_at`.
    public func touchSession(digest: TokenDigest, lastSeenAt: Date) async throws {
        let token = digest.bytes
        let lastSeen = lastSeenAt.timeIntervalSince1970
        try await call { client in
            _ = try await client.query(
                "UPDATE sessions SET last_seen_at = \(lastSeen) WHERE token_hash = \(token)", logger: self.logger
            ).collect()
        }
    }

    /// Deletes one session; returns whether a row went.
    public func deleteSession(digest: TokenDigest) async throws -> Bool {
        let token = digest.bytes
        return try await call { client in
            try await !client.query(
                "DELETE FROM sessions WHERE token_hash = \(token) RETURNING 1", logger: self.logger
            ).collect().isEmpty
        }
    }

    /// Deletes every session of a user; returns how many went.
    public func deleteSessions(userID: Int64) async throws -> Int {
        try await call { client in
            try await client.query(
                "DELETE FROM sessions WHERE user_id = \(userID) RETURNING 1", logger: self.logger
            ).collect().count
        }
    }
}

/// A session and its user, as one `Sendable` value.
private struct SessionAndUser: Sendable {
    var session: Session
    var user: SessionUser
}
