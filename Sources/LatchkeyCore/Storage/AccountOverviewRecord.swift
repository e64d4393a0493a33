import Foundation

/// What an account's own page shows, as a store holds it: the user, its second factor, its live
/// sessions and its newest activity. `AuthStore.accountOverview(userID:now:idleCutoff:activityLimit:)`
/// reads it.
public struct AccountOverviewRecord: Sendable, Equatable {
    /// The user.
    public var user: User
    /// Its second factor, read only while one is active (`user.secondFactorEnabled`); else `nil`.
    public var secondFactor: SecondFactor?
    /// Its live sessions, newest first, as `listSessions(userID:now:idleCutoff:)` gives them.
    public var sessions: [Session]
    /// Its newest activity first, as `listActivity(userID:limit:)` gives it.
    public var activity: [ActivityEvent]

    /// A record from its parts.
    public init(user: User, secondFactor: SecondFactor?, sessions: [Session], activity: [ActivityEvent]) {
        self.user = user
        self.secondFactor = secondFactor
        self.sessions = sessions
        self.activity = activity
    }
}

extension AuthStore {
    /// The default reading: `findUser`, `secondFactor` (with an active factor), `listSessions`
    /// and `listActivity`, one after another. A store that can read them in one transaction
    /// (one snapshot, one round trip) implements the requirement itself.
    public func accountOverview(
        userID: Int64, now: Date, idleCutoff: Date, activityLimit: Int
    ) async throws -> AccountOverviewRecord? {
        guard let user = try await findUser(by: .id(userID)) else { return nil }
        let factor = user.secondFactorEnabled ? try await secondFactor(userID: userID) : nil
        return AccountOverviewRecord(
            user: user, secondFactor: factor,
            sessions: try await listSessions(userID: userID, now: now, idleCutoff: idleCutoff),
            activity: try await listActivity(userID: userID, limit: activityLimit))
    }
}
