import Foundation

extension Auth {
    /// The most entries `activity(session:)` returns.
    public static let activityShown = 100

    /// The account's security activity, newest first, at most `activityShown` entries.
    /// - Parameter live: The authenticated session (`authenticatedSession(token:)`).
    /// - Returns: The entries: what, when, from which address and agent.
    /// - Throws: `invalidSession`; `storageUnavailable`.
    public func activity(session live: AuthenticatedSession) async throws -> [ActivityEvent] {
        return try await storage { try await store.listActivity(userID: live.user.id, limit: Self.activityShown) }
    }

    /// Records an entry of an account's activity. Best effort: the request it records has
    /// happened, and a failure to record it (the account deleted meanwhile, the database gone)
    /// only loses the entry, with a warning.
    func record(_ kind: ActivityEvent.Kind, userID: Int64, origin: SessionOrigin = SessionOrigin()) async {
        let event = ActivityEvent(userID: userID, kind: kind, at: clock(), origin: origin)
        do {
            try await store.addActivity(event)
        } catch {
            logger.warning(
                "could not record account activity", metadata: ["type": "\(kind.rawValue)", "error": "\(error)"])
        }
    }
}
