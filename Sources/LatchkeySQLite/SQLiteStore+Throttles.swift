import Foundation
import GRDB
import LatchkeyCore

extension SQLiteStore {
    /// Reads a throttle record.
    public func throttleRecord(_ key: ThrottleKey) async throws -> ThrottleRecord? {
        // No stored subject holds a NUL, and SQLite would compare only up to it.
        if key.subject.utf8.contains(0) { return nil }
        return try readHere { db in try Self.throttle(db, key) }
    }

    /// Reads, changes and writes a throttle record in one write transaction: SQLite's single
    /// writer applies concurrent changes one after the other.
    public func updateThrottleRecord(
        _ key: ThrottleKey, _ update: @escaping @Sendable (ThrottleRecord?) -> ThrottleRecord?
    ) async throws -> ThrottleRecord? {
        try StoreError.checkText(key.subject)
        return try await write { db in
            guard let record = update(try Self.throttle(db, key)) else {
                try db.execute(
                    sql: "DELETE FROM throttles WHERE scope = ? AND subject = ?",
                    arguments: [key.scope.rawValue, key.subject])
                return nil
            }
            try db.execute(
                sql: """
                    INSERT INTO throttles (scope, subject, count, first_at, last_at, locked_until, lock_count, pending)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                    ON CONFLICT(scope, subject) DO UPDATE SET
                        count = excluded.count, first_at = excluded.first_at, last_at = excluded.last_at,
                        locked_until = excluded.locked_until, lock_count = excluded.lock_count,
                        pending = excluded.pending
                    """,
                arguments: [
                    key.scope.rawValue, key.subject, record.count, record.firstAt.timeIntervalSince1970,
                    record.lastAt.timeIntervalSince1970, record.lockedUntil?.timeIntervalSince1970, record.lockCount,
                    record.pendingText,
                ]
            )
            return record
        }
    }

    /// Deletes quiet throttle records whose wait has ended.
    public func purgeThrottles(lastBefore: Date, now: Date) async throws -> Int {
        try await write { db in
            try db.execute(
                sql: "DELETE FROM throttles WHERE last_at <= ? AND (locked_until IS NULL OR locked_until <= ?)",
                arguments: [lastBefore.timeIntervalSince1970, now.timeIntervalSince1970])
            return db.changesCount
        }
    }

    static func throttle(_ db: Database, _ key: ThrottleKey) throws -> ThrottleRecord? {
        guard
            let row = try Row.fetchOne(
                db.cachedStatement(
                    sql: """
                        SELECT count, first_at, last_at, locked_until, lock_count, pending FROM throttles
                        WHERE scope = ? AND subject = ?
                        """),
                arguments: [key.scope.rawValue, key.subject])
        else { return nil }
        let lockedUntil: Double? = row[3]
        return ThrottleRecord(
            count: row[0],
            firstAt: Date(timeIntervalSince1970: row[1]),
            lastAt: Date(timeIntervalSince1970: row[2]),
            lockedUntil: lockedUntil.map(Date.init(timeIntervalSince1970:)),
            lockCount: row[4],
            pending: ThrottleRecord.pending(fromText: row[5])
        )
    }
}
