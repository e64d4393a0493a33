import Foundation
import LatchkeyCore
import PostgresNIO

extension PostgresStore {
    /// Inserts an activity entry; `StoreError.notFound` when the user is gone.
    public func addActivity(_ event: ActivityEvent) async throws {
        let query = Self.insertActivity(event)
        let inserted = try await call { client in
            try await client.query(query, logger: self.logger).collect().count
        }
        guard inserted == 1 else { throw StoreError.notFound }
    }

    /// `INSERT INTO activity … RETURNING 1` for a user that exists (no row when the user is gone).
    static func insertActivity(_ event: ActivityEvent) -> PostgresQuery {
        let (userID, type, at) = (event.userID, event.kind.rawValue, event.at.timeIntervalSince1970)
        let (ip, agent) = (event.ip, event.userAgent)
        return """
            INSERT INTO activity (user_id, type, at, ip, user_agent)
            SELECT id, \(type), \(at), \(ip), \(agent) FROM users WHERE id = \(userID)
            RETURNING 1
            """
    }

    /// The user's newest activity first; an entry of a type this build does not know is left out.
    public func listActivity(userID: Int64, limit: Int) async throws -> [ActivityEvent] {
        let count = max(0, limit)
        let rows = try await call { client in
            try await client.query(
                """
                SELECT type, at, ip, user_agent FROM activity WHERE user_id = \(userID)
                ORDER BY at DESC, id DESC LIMIT \(count)
                """,
                logger: self.logger
            ).collect()
        }
        return try rows.compactMap { row in
            let (type, at, ip, agent) = try row.decode((String, Double, String?, String?).self)
            guard let kind = ActivityEvent.Kind(rawValue: type) else { return nil }
            return ActivityEvent(
                userID: userID, kind: kind, at: Date(timeIntervalSince1970: at),
                origin: SessionOrigin(ip: ip, userAgent: agent))
        }
    }

    /// Deletes activity at or before `before`.
    public func purgeActivity(before: Date) async throws -> Int {
        let cutoff = before.timeIntervalSince1970
        return try await call { client in
            try await client.query("DELETE FROM activity WHERE at <= \(cutoff) RETURNING 1", logger: self.logger)
                .collect().count
        }
    }
}
