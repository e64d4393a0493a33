import Foundation
import LatchkeyCore
import PostgresNIO

extension PostgresStore {
    /// Reads a throttle record.
    public func throttleRecord(_ key: ThrottleKey) async throws -> ThrottleRecord? {
        let scope = key.scope.rawValue
        let subject = key.subject
        if subject.utf8.contains(0) { return nil }
        return try await call { client in
            try await client.query(
                """
                SELECT count, first_at, last_at, locked_until, lock_count, pending FROM throttles
                WHERE scope = \(scope) AND subject = \(subject)
                """,
                logger: self.logger
            ).collect().first.flatMap(Self.throttle(from:))
        }
    }

    /// Reads, changes and writes a throttle record in one transaction. The row is created if
    /// missing and then locked `FOR UPDATE`, so concurrent changes from any node apply one after
    /// the other.
    public func updateThrottleRecord(
        _ key: ThrottleKey, _ update: @escaping @Sendable (ThrottleRecord?) -> ThrottleRecord?
    ) async throws -> ThrottleRecord? {
        try StoreError.checkText(key.subject)
        let scope = key.scope.rawValue
        let subject = key.subject
        let logger = self.logger
        return try await transaction { connection in
            // The record's row stays locked until the commit, and every login of this address
            // waits for it: the commit does not wait for the WAL to reach the disk. A crash of the
            // database may lose the last fraction of a second of counts, which only gives back an
            // attempt or two; waiting for the flush made every burst of logins for one address
            // (and every request waiting for one of the pool's connections meanwhile) wait in line.
            try await connection.query("SET LOCAL synchronous_commit = off", logger: logger)
            // A placeholder (count 0, no wait) stands for "no record" until the update decides.
            try await connection.query(
                """
                INSERT INTO throttles (scope, subject, count, first_at, last_at, locked_until, lock_count)
                VALUES (\(scope), \(subject), 0, 0, 0, NULL, 0) ON CONFLICT (scope, subject) DO NOTHING
                """,
                logger: logger)
            let stored = try await connection.query(
                """
                SELECT count, first_at, last_at, locked_until, lock_count, pending FROM throttles
                WHERE scope = \(scope) AND subject = \(subject) FOR UPDATE
                """,
                logger: logger
            ).collect().first.flatMap(Self.throttle(from:))
            guard let record = update(stored) else {
                try await connection.query(
                    "DELETE FROM throttles WHERE scope = \(scope) AND subject = \(subject)", logger: logger)
                return nil
            }
            let firstAt = record.firstAt.timeIntervalSince1970
            let lastAt = record.lastAt.timeIntervalSince1970
            let lockedUntil = record.lockedUntil?.timeIntervalSince1970
            let count = Int32(clamping: record.count)
            let lockCount = Int32(clamping: record.lockCount)
            let pending = record.pendingText
            try await connection.query(
                """
                UPDATE throttles SET count = \(count), first_at = \(firstAt), last_at = \(lastAt),
                    locked_until = \(lockedUntil), lock_count = \(lockCount), pending = \(pending)
                WHERE scope = \(scope) AND subject = \(subject)
                """,
                logger: logger)
            return record
        }
    }

    /// Deletes quiet throttle records whose wait has ended.
    public func purgeThrottles(lastBefore: Date, now: Date) async throws -> Int {
        let cutoff = lastBefore.timeIntervalSince1970
        let nowSeconds = now.timeIntervalSince1970
        return try await call { client in
            try await client.query(
                """
                DELETE FROM throttles
                WHERE last_at <= \(cutoff) AND (locked_until IS NULL OR locked_until <= \(nowSeconds))
                RETURNING 1
                """,
                logger: self.logger
            ).collect().count
        }
    }

    /// A stored row as a record; the placeholder row (count 0, no wait, nothing pending) is no
    /// record.
    static func throttle(from row: PostgresRow) -> ThrottleRecord? {
        guard
            let (count, firstAt, lastAt, lockedUntil, lockCount, pendingText) = try? row.decode(
                (Int32, Double, Double, Double?, Int32, String).self)
        else { return nil }
        let pending = ThrottleRecord.pending(fromText: pendingText)
        if count == 0 && lockedUntil == nil && pending.isEmpty { return nil }
        return ThrottleRecord(
            count: Int(count),
            firstAt: Date(timeIntervalSince1970: firstAt),
            lastAt: Date(timeIntervalSince1970: lastAt),
            lockedUntil: lockedUntil.map(Date.init(timeIntervalSince1970:)),
            lockCount: Int(lockCount),
            pending: pending
        )
    }
}
