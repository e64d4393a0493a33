import Foundation
import GRDB
import LatchkeyCore

extension SQLiteStore {
    /// Reads the user, its active factor, its live sessions and its newest activity in one read
    /// transaction: one snapshot, one connection taken from the pool.
    public func accountOverview(
        userID: Int64, now: Date, idleCutoff: Date, activityLimit: Int
    ) async throws -> AccountOverviewRecord? {
        try readHere { db in
            guard
                let row = try Row.fetchOne(
                    db.cachedStatement(sql: "SELECT \(Self.userColumns) FROM users WHERE id = ?"), arguments: [userID])
            else { return nil }
            let user = Self.user(from: row)
            return AccountOverviewRecord(
                user: user,
                secondFactor: user.secondFactorEnabled ? try Self.secondFactor(userID: userID, in: db) : nil,
                sessions: try Self.liveSessions(userID: userID, now: now, idleCutoff: idleCutoff, in: db),
                activity: try Self.newestActivity(userID: userID, limit: activityLimit, in: db))
        }
    }
}
