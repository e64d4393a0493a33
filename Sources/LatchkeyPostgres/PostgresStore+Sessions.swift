import Foundation
import LatchkeyCore
import Logging
import PostgresNIO

extension PostgresStore {
    /// Inserts the session only while the user's password hash is still `passwordHash`. The
    /// user's row is read `FOR SHARE`, so a reset that changes the hash either commits first
    /// (and the insert finds no row) or waits for this insert and then deletes the session. The
    /// user's least recently used sessions beyond `limit` are deleted, and the activity entry
    /// inserted, by the same statement, in one round trip: its `DELETE` sees the sessions as they
    /// were before the insert, so it keeps `limit - 1` of them besides the new one.
    ///
    /// An entry the server refuses (a statement error, not a lost connection or a timeout) fails
    /// that statement as a whole, so nothing of it is written; the session is then inserted
    /// again alone, and the entry is lost. The effect is a savepoint's, at one round trip for the
    /// login that records its entry, instead of a transaction's five.
    public func addSession(
        _ session: Session, ifPasswordHash passwordHash: String, keepingAtMost limit: Int,
        recording event: ActivityEvent?
    ) async throws -> SessionInsert {
        // No stored hash holds a NUL, so none can match.
        if passwordHash.utf8.contains(0) { return .refused }
        let recorded = try Self.sessionInsert(
            session, ifPasswordHash: passwordHash, keepingAtMost: limit, recording: event)
        let logger = self.logger
        return try await call { client in
            do {
                return try await Self.run(recorded, on: client, logger: logger)
            } catch let error as PSQLError where event != nil && Self.isStatementError(error) {
                logger.warning(
                    "the activity entry of a login was refused; the session is stored without it",
                    metadata: ["sqlstate": "\(error.serverInfo?[.sqlState] ?? "")"])
                // Built only here: the statement without the entry is for this rare case alone.
                let alone = try Self.sessionInsert(
                    session, ifPasswordHash: passwordHash, keepingAtMost: limit, recording: nil)
                return try await Self.run(alone, on: client, logger: logger)
            }
        }
    }

    /// Runs a statement of `sessionInsert(_:ifPasswordHash:keepingAtMost:recording:)`.
    private static func run(_ query: PostgresQuery, on client: PostgresClient, logger: Logger) async throws
        -> SessionInsert
    {
        guard let row = try await client.query(query, logger: logger).collect().first else { return .refused }
        return SessionInsert(stored: true, activityRecorded: try row.decode(Int64.self) == 1)
    }

    /// One statement: the session (only while the hash is `passwordHash`), the trimming to
    /// `limit` sessions, and the activity entry when there is one. It returns one row, the
    /// number of entries written, when the session was inserted, and none otherwise.
    static func sessionInsert(
        _ session: Session, ifPasswordHash passwordHash: String, keepingAtMost limit: Int,
        recording event: ActivityEvent?
    ) throws -> PostgresQuery {
        let token = session.tokenDigest.bytes
        let created = session.createdAt.timeIntervalSince1970
        let lastSeen = session.lastSeenAt.timeIntervalSince1970
        let expires = session.expiresAt.timeIntervalSince1970
        let (userID, publicID, ip, agent) = (session.userID, session.publicID, session.ip, session.userAgent)
        let aal = session.aal
        let trimming = limit < .max
        let keptBesides = trimming ? max(0, limit - 1) : 0
        let recording = event != nil
        let (type, at) = (event?.kind.rawValue ?? "", event?.at.timeIntervalSince1970 ?? 0)
        let (eventIP, eventAgent) = (event?.ip, event?.userAgent)
        return try """
        WITH checked AS (
            SELECT id, email FROM users
            WHERE id = \(userID) AND password_hash = \(passwordHash) AND (\(aal) >= 2 OR NOT mfa_enabled)
            FOR SHARE
        ), inserted AS (
            INSERT INTO sessions
                (token_hash, user_id, email, created_at, last_seen_at, expires_at, public_id, ip, user_agent, aal)
            SELECT \(token), id, email, \(created), \(lastSeen), \(expires), \(publicID), \(ip), \(agent), \(aal)
            FROM checked
            RETURNING user_id
        ), trimmed AS (
            DELETE FROM sessions WHERE \(trimming) AND token_hash IN (
                SELECT token_hash FROM sessions
                WHERE user_id = \(userID) AND EXISTS (SELECT 1 FROM inserted)
                ORDER BY last_seen_at DESC, created_at DESC OFFSET \(keptBesides)
            )
        ), recorded AS (
            INSERT INTO activity (user_id, type, at, ip, user_agent)
            SELECT user_id, \(type), \(at), \(eventIP), \(eventAgent) FROM inserted WHERE \(recording)
            RETURNING 1
        )
        SELECT (SELECT count(*) FROM recorded) FROM inserted
        """
    }

    /// Whether the server refused a statement for what it does (a constraint, a trigger, a value),
    /// rather than for the connection, resources, a timeout or a conflict with another transaction.
    static func isStatementError(_ error: PSQLError) -> Bool {
        guard let state = error.serverInfo?[.sqlState], state.count == 5 else { return false }
        return !["08", "40", "53", "57", "58", "XX"].contains(String(state.prefix(2)))
    }

    /// `INSERT INTO sessions … RETURNING 1` from the user's row (which carries the email), for
    /// the bulk insert of sessions.
    static func insertSession(_ session: Session) throws -> PostgresQuery {
        let token = session.tokenDigest.bytes
        let created = session.createdAt.timeIntervalSince1970
        let lastSeen = session.lastSeenAt.timeIntervalSince1970
        let expires = session.expiresAt.timeIntervalSince1970
        let userID = session.userID
        let (publicID, ip, agent, aal) = (session.publicID, session.ip, session.userAgent, session.aal)
        return try """
        INSERT INTO sessions
            (token_hash, user_id, email, created_at, last_seen_at, expires_at, public_id, ip, user_agent, aal)
        SELECT \(token), id, email, \(created), \(lastSeen), \(expires), \(publicID), \(ip), \(agent), \(aal)
        FROM users WHERE id = \(userID)
        RETURNING 1
        """
    }

    /// Reads a session, with its user's email, by its primary key: the request path's most
    /// frequent query (every profile read and session check), as a prepared statement, so that
    /// PostgreSQL parses and plans it once per connection.
    public func findSession(digest: TokenDigest) async throws -> (session: Session, user: SessionUser)? {
        let statement = FindSession(token: digest.bytes)
        let rows = try await call { client in
            var rows: [FindSession.Row] = []
            for try await row in try await client.execute(statement, logger: self.logger) {
                rows.append(row)
            }
            return rows
        }
        return rows.first.map { row in
            let session = Session(
                tokenDigest: digest,
                userID: row.userID,
                createdAt: Date(timeIntervalSince1970: row.created),
                lastSeenAt: Date(timeIntervalSince1970: row.lastSeen),
                expiresAt: Date(timeIntervalSince1970: row.expires),
                publicID: row.publicID,
                aal: row.aal
            )
            return (session, SessionUser(id: row.userID, email: row.email))
        }
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

/// `findSession(digest:)`'s query.
struct FindSession: PostgresPreparedStatement {
    static let name = "latchkey_find_session"
    static let sql = """
        SELECT user_id, created_at, last_seen_at, expires_at, email, public_id, aal FROM sessions WHERE token_hash = $1
        """
    static let bindingDataTypes: [PostgresDataType] = [.bytea]

    struct Row: Sendable {
        let userID: Int64
        let created: Double
        let lastSeen: Double
        let expires: Double
        let email: String
        let publicID: String
        let aal: Int
    }

    let token: Data

    func makeBindings() throws -> PostgresBindings {
        var bindings = PostgresBindings()
        try bindings.append(token)
        return bindings
    }

    func decodeRow(_ row: PostgresRow) throws -> Row {
        let (userID, created, lastSeen, expires, email, publicID, aal) = try row.decode(
            (Int64, Double, Double, Double, String, String, Int).self)
        return Row(
            userID: userID, created: created, lastSeen: lastSeen, expires: expires, email: email, publicID: publicID,
            aal: aal)
    }
}
