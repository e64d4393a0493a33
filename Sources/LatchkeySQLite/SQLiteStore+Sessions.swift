import Foundation
import GRDB
import LatchkeyCore

extension SQLiteStore {
    /// Inserts the session with `INSERT … SELECT` from the user's row, so that it is stored only
    /// while the password hash is unchanged; then, in the same write transaction, deletes the
    /// user's least recently used sessions beyond `limit`.
    public func addSession(
        _ session: Session, ifPasswordHash passwordHash: String, keepingAtMost limit: Int,
        recording event: ActivityEvent?
    ) async throws -> SessionInsert {
        // No stored hash holds a NUL (SQLite would compare only up to it), so none can match.
        if passwordHash.utf8.contains(0) { return .refused }
        return try await write { db in
            try db.cachedStatement(
                sql: """
                    INSERT INTO sessions
                        (token_hash, user_id, email, created_at, last_seen_at, expires_at, public_id, ip, user_agent, aal)
                    SELECT ?, id, email, ?, ?, ?, ?, ?, ?, ? FROM users
                    WHERE id = ? AND password_hash = ? AND (? >= 2 OR NOT mfa_enabled)
                    """
            ).execute(arguments: Self.sessionArguments(session) + [session.userID, passwordHash, session.aal])
            guard db.changesCount == 1 else { return .refused }
            if limit < Int.max {
                try db.cachedStatement(
                    sql: """
                        DELETE FROM sessions WHERE token_hash IN (
                            SELECT token_hash FROM sessions WHERE user_id = ?
                            ORDER BY last_seen_at DESC, created_at DESC LIMIT -1 OFFSET ?
                        )
                        """
                ).execute(arguments: [session.userID, max(1, limit)])
            }
            guard let event else { return SessionInsert(stored: true, activityRecorded: false) }
            // In a savepoint: an entry that cannot be written is rolled back alone, and the
            // session still commits.
            do {
                try db.inSavepoint {
                    try Self.insertActivity(event, in: db)
                    return .commit
                }
                return SessionInsert(stored: true, activityRecorded: true)
            } catch {
                return SessionInsert(stored: true, activityRecorded: false)
            }
        }
    }

    /// Whether the session `digest` is stored and belongs to `userID` (inside a write, before a
    /// change that re-keys it).
    static func holdsSession(_ db: Database, _ digest: TokenDigest, userID: Int64) throws -> Bool {
        try Bool.fetchOne(
            db, sql: "SELECT 1 FROM sessions WHERE token_hash = ? AND user_id = ?", arguments: [digest.bytes, userID])
            == true
    }

    /// The values of `INSERT INTO sessions` after the token and user: the times, the public
    /// identifier, the address, the agent and the assurance level.
    static func sessionArguments(_ session: Session) -> StatementArguments {
        [
            session.tokenDigest.bytes, session.createdAt.timeIntervalSince1970,
            session.lastSeenAt.timeIntervalSince1970, session.expiresAt.timeIntervalSince1970,
            session.publicID, session.ip, session.userAgent, session.aal,
        ]
    }

    /// Reads a session, with its user's email, by its primary key, on the calling thread: the
    /// profile read is the service's hottest path, and one indexed statement takes
    /// microseconds, less than the hop to another thread and back (see docs/benchmarks.md).
    public func findSession(digest: TokenDigest) async throws -> (session: Session, user: SessionUser)? {
        try readHere { db in
            let statement = try db.cachedStatement(
                sql: """
                    SELECT user_id, created_at, last_seen_at, expires_at, email, public_id, aal
                    FROM sessions WHERE token_hash = ?
                    """
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
                expiresAt: Date(timeIntervalSince1970: row[3]),
                // Never NULL (migration v6's trigger fills it), but a row is never trusted to crash.
                publicID: (row[5] as String?) ?? "",
                aal: row[6]
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

    /// The user's live sessions, newest first, with their address and agent.
    public func listSessions(userID: Int64, now: Date, idleCutoff: Date) async throws -> [Session] {
        try readHere { db in try Self.liveSessions(userID: userID, now: now, idleCutoff: idleCutoff, in: db) }
    }

    /// The user's live sessions, newest first, within the caller's transaction.
    static func liveSessions(userID: Int64, now: Date, idleCutoff: Date, in db: Database) throws -> [Session] {
        // A cursor reads each row in place, without copying it first.
        try Array(
            Row.fetchCursor(
                db.cachedStatement(
                    sql: """
                        SELECT token_hash, created_at, last_seen_at, expires_at, public_id, ip, user_agent, aal
                        FROM sessions WHERE user_id = ? AND expires_at > ? AND last_seen_at > ?
                        ORDER BY created_at DESC, public_id DESC
                        """),
                arguments: [userID, now.timeIntervalSince1970, idleCutoff.timeIntervalSince1970]
            ).map { row in
                Session(
                    tokenDigest: TokenDigest(bytes: row[0]), userID: userID,
                    createdAt: Date(timeIntervalSince1970: row[1]), lastSeenAt: Date(timeIntervalSince1970: row[2]),
                    expiresAt: Date(timeIntervalSince1970: row[3]), publicID: (row[4] as String?) ?? "",
                    origin: SessionOrigin(ip: row[5], userAgent: row[6]), aal: row[7])
            })
    }

    /// Deletes one live session of the user by its public identifier.
    public func deleteSession(userID: Int64, publicID: String, now: Date, idleCutoff: Date) async throws -> Bool {
        try await write { db in
            try db.execute(
                sql: """
                    DELETE FROM sessions
                    WHERE public_id = ? AND user_id = ? AND expires_at > ? AND last_seen_at > ?
                    """,
                arguments: [publicID, userID, now.timeIntervalSince1970, idleCutoff.timeIntervalSince1970])
            return db.changesCount > 0
        }
    }

    /// Deletes the user's live sessions but one; returns how many went.
    public func deleteSessions(userID: Int64, except digest: TokenDigest, now: Date, idleCutoff: Date) async throws
        -> Int
    {
        try await write { db in
            try db.execute(
                sql: """
                    DELETE FROM sessions
                    WHERE user_id = ? AND token_hash <> ? AND expires_at > ? AND last_seen_at > ?
                    """,
                arguments: [userID, digest.bytes, now.timeIntervalSince1970, idleCutoff.timeIntervalSince1970])
            return db.changesCount
        }
    }

    /// Changes the hash, ends the other sessions, drops the reset token and re-keys the current
    /// session (keeping its assurance level), in one write transaction.
    public func changePassword(
        userID: Int64, from old: String, to new: String, keeping current: TokenDigest, as replacement: TokenDigest,
        revoking revocation: PasswordRevocation, messages: [OutboxMessage]
    ) async throws -> Bool {
        try StoreError.checkText(new)
        if old.utf8.contains(0) { return false }
        return try await write { db in
            guard try Self.holdsSession(db, current, userID: userID) else { return false }
            try db.execute(
                sql: "UPDATE users SET password_hash = ? WHERE id = ? AND password_hash = ?",
                arguments: [new, userID, old])
            guard db.changesCount == 1 else { return false }
            try Self.revoke(revocation, userID: userID, keeping: current, in: db)
            try db.execute(
                sql: "UPDATE sessions SET token_hash = ? WHERE token_hash = ?",
                arguments: [replacement.bytes, current.bytes])
            try Self.insert(messages, in: db)
            return true
        }
    }
}
