import Foundation
import GRDB
import LatchkeyCore

extension SQLiteStore {
    /// Inserts an activity entry; `StoreError.notFound` when the user is gone (the foreign key).
    public func addActivity(_ event: ActivityEvent) async throws {
        try await write { db in try Self.insertActivity(event, in: db) }
    }

    /// Inserts an activity entry for a user that exists.
    /// - Throws: `StoreError.notFound` when the user is gone; SQLite's errors.
    static func insertActivity(_ event: ActivityEvent, in db: Database) throws {
        try db.cachedStatement(
            sql:
                "INSERT INTO activity (user_id, type, at, ip, user_agent) SELECT id, ?, ?, ?, ? FROM users WHERE id = ?"
        ).execute(arguments: [
            event.kind.rawValue, event.at.timeIntervalSince1970, event.ip, event.userAgent, event.userID,
        ])
        guard db.changesCount == 1 else { throw StoreError.notFound }
    }

    /// The user's newest activity first; an entry of a type this build does not know is left out.
    public func listActivity(userID: Int64, limit: Int) async throws -> [ActivityEvent] {
        try readHere { db in try Self.newestActivity(userID: userID, limit: limit, in: db) }
    }

    /// The user's newest activity first, within the caller's transaction.
    static func newestActivity(userID: Int64, limit: Int, in db: Database) throws -> [ActivityEvent] {
        // A cursor reads each row in place, without copying it first.
        try Array(
            Row.fetchCursor(
                db.cachedStatement(
                    sql:
                        "SELECT type, at, ip, user_agent FROM activity WHERE user_id = ? ORDER BY at DESC, id DESC LIMIT ?"
                ),
                arguments: [userID, max(0, limit)]
            ).compactMap { row in
                guard let kind = ActivityEvent.Kind(rawValue: row[0]) else { return nil }
                return ActivityEvent(
                    userID: userID, kind: kind, at: Date(timeIntervalSince1970: row[1]),
                    origin: SessionOrigin(ip: row[2], userAgent: row[3]))
            })
    }

    /// Deletes activity at or before `before`.
    public func purgeActivity(before: Date) async throws -> Int {
        try await write { db in
            try db.execute(sql: "DELETE FROM activity WHERE at <= ?", arguments: [before.timeIntervalSince1970])
            return db.changesCount
        }
    }
}
