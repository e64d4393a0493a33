import Foundation
import GRDB
import LatchkeyCore

extension SQLiteStore: AdminStore {
    /// Lists users by email with their live session counts, on a read-only connection on the calling thread.
    public func listUsers(after: String?, limit: Int, now: Date, idleCutoff: Date) async throws -> [UserSummary] {
        // No stored email holds a NUL, and SQLite would compare only up to it.
        if let after, after.utf8.contains(0) { return [] }
        return try readHere { db in
            let rows = try Row.fetchAll(
                db,
                sql: """
                    SELECT u.id, u.email, u.created_at,
                        (SELECT count(*) FROM sessions s
                         WHERE s.user_id = u.id AND s.expires_at > ? AND s.last_seen_at > ?),
                        u.email_verified,
                        u.mfa_enabled
                    FROM users u WHERE u.email > ? ORDER BY u.email LIMIT ?
                    """,
                arguments: [now.timeIntervalSince1970, idleCutoff.timeIntervalSince1970, after ?? "", limit]
            )
            return rows.map {
                UserSummary(
                    id: $0[0], email: $0[1], createdAt: Date(timeIntervalSince1970: $0[2]), liveSessions: $0[3],
                    emailVerified: $0[4], secondFactorEnabled: $0[5])
            }
        }
    }

    /// Deletes a user; sessions, tokens, activity and the second factor go with it (`ON DELETE
    /// CASCADE`), and its pending token messages.
    public func deleteUser(id: Int64, messages: [OutboxMessage]) async throws -> Bool {
        try await write { db in
            try db.execute(sql: "DELETE FROM users WHERE id = ?", arguments: [id])
            guard db.changesCount == 1 else { return false }
            try Self.dropTokenMessages(userID: id, in: db)
            try Self.insert(messages, in: db)
            return true
        }
    }

    /// Adds many users in one write transaction; taken emails are skipped.
    public func addUsers(_ users: [NewUser]) async throws -> [Bool] {
        for user in users { try StoreError.checkText(user.email, user.passwordHash) }
        return try await write { db in
            let statement = try db.makeStatement(
                sql:
                    "INSERT INTO users (email, password_hash, created_at) VALUES (?, ?, ?) ON CONFLICT(email) DO NOTHING"
            )
            return try users.map { user in
                try statement.execute(arguments: [user.email, user.passwordHash, user.createdAt.timeIntervalSince1970])
                return db.changesCount == 1
            }
        }
    }

    /// Adds many sessions in one write transaction; none when one of their users is missing.
    public func addSessions(_ sessions: [Session]) async throws {
        try await write { db in
            let statement = try db.makeStatement(
                sql: """
                    INSERT INTO sessions
                        (token_hash, user_id, email, created_at, last_seen_at, expires_at, public_id, ip, user_agent, aal)
                    SELECT ?, id, email, ?, ?, ?, ?, ?, ?, ? FROM users WHERE id = ?
                    """)
            for session in sessions {
                try statement.execute(arguments: Self.sessionArguments(session) + [session.userID])
                guard db.changesCount == 1 else { throw StoreError.notFound }
            }
        }
    }

    /// Copies the database, consistently, to a new file while it is in use (SQLite's online
    /// backup, through GRDB).
    /// - Parameter path: The new file; it must not exist. It is created readable by its owner
    ///   only (0600): a backup holds what the database holds.
    /// - Throws: `StoreError.unavailable` when the copy fails.
    public func backup(to path: String) throws {
        try Self.createOwnerOnly(path)
        do {
            let destination = try DatabaseQueue(path: path)
            try writer.backup(to: destination)
            try destination.close()
        } catch {
            throw Self.translate(error)
        }
    }

    /// Every account listed among the email conflicts, by canonical form then id.
    public func emailConflicts() async throws -> [EmailConflict] {
        try readHere { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT c.user_id, u.email, c.canonical FROM email_conflicts c JOIN users u ON u.id = c.user_id
                    ORDER BY coalesce(c.canonical, ''), c.user_id
                    """
            ).map { EmailConflict(userID: $0[0], email: $0[1], canonical: $0[2]) }
        }
    }

    /// Gives an account another address and takes it off the email conflicts, in one write
    /// transaction; the trigger of migration v3 updates its sessions' copies.
    public func renameUser(id: Int64, email: String) async throws -> Bool {
        try StoreError.checkText(email)
        return try await write { db in
            // An address an operator gives is not proven, and a token pending for the old one
            // must not move the account back.
            try db.execute(sql: "UPDATE users SET email = ?, email_verified = 0 WHERE id = ?", arguments: [email, id])
            guard db.changesCount == 1 else { return false }
            try db.execute(sql: "DELETE FROM verification_tokens WHERE user_id = ?", arguments: [id])
            try db.execute(sql: "DELETE FROM email_conflicts WHERE user_id = ?", arguments: [id])
            // A claim was of the old address.
            try db.execute(sql: "DELETE FROM pending_claims WHERE user_id = ?", arguments: [id])
            return true
        }
    }
}
