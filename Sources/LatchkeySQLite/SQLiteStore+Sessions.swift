import Foundation
import GRDB
import LatchkeyCore

extension SQLiteStore {
    /// Inserts the session with `INSERT … SELECT` from the user's row, so that it is stored only
    /// while the password hash is unchanged.
    public func addSession(_ session: Session, ifPasswordHash passwordHash: String) async throws -> Bool {
        // No stored hash holds a NUL (SQLite would compare only up to it), so none can match.
        if passwordHash.utf8.contains(0) { return false }
        return try await write { db in
            try db.cachedStatement(
                sql: """
                    INSERT INTO sessions (token_hash, user_id, email, created_at, last_seen_at, expires_at)
                    SELECT ?, id, email, ?, ?, ? FROM users WHERE id = ? AND password_hash = ?
                    """
            ).execute(arguments: [
                session.tokenDigest.bytes, session.createdAt.timeIntervalSince1970,
                session.lastSeenAt.timeIntervalSince1970, session.expiresAt.timeIntervalSince1970,
                session.userID, passwordHash,
            ])
            return db.changesCount == 1
        }
    }

    /// Reads a session, with its user's email, by its primary key, on the calling thread: the
    /// profile read is the service's hottest path, and one indexed statement takes
    /// microseconds, less than the hop to another thread and back (see docs/benchmarks.md).
    public func findSession(digest: TokenDigest) async throws -> (session: Session, user: SessionUser)? {
        try readHere { db in
            let statement = try db.cachedStatement(
                sql: "SELECT user_id, created_at, last_seen_at, expires_at, email FROM sessions WHERE token_hash = ?"
            )
            // A cursor's row is read in place, without copying the row first.
            let rows = try Row.fetchCursor(statement, arguments: [digest.bytes])
            guard let row = try rows.next() else { return nil }
            let userID: Int64 = row[0]
            let session = Session(
                tokenDigest: digest,
                userID: userID,
                createdAt: Date(timeIntervalSince1970: row[1]),
                lastSeenAt: Date(timeIntervalSince1970: row[2]),
                expiresAt: Date(timeIntervalSince1970: row[3])
            )
            return (session, SessionUser(id: userID, email: row[4]))
        }
    }

    /// Updates the session's `last_seen_at`.
    public func touchSession(digest: TokenDigest, lastSeenAt: Date) async throws {
        return try await write { db in
            try db.cachedStatement(sql: "UPDATE sessions SET last_seen_at = ? WHERE token_hash = ?")
                .execute(arguments: [lastSeenAt.timeIntervalSince1970, digest.bytes])
        }
    }

    /// Deletes one session; returns whether a row went.
    public func deleteSession(digest: TokenDigest) async throws -> Bool {
        return try await write { db in
            try db.execute(sql: "DELETE FROM sessions WHERE token_hash = ?", arguments: [digest.bytes])
            return db.changesCount > 0
        }
    }

    /// Deletes every session of a user; returns how many went.
    public func deleteSessions(userID: Int64) async throws -> Int {
        return try await write { db in
            try db.execute(sql: "DELETE FROM sessions WHERE user_id = ?", arguments: [userID])
            return db.changesCount
        }
    }
}
