import Foundation

/// What the stores purged.
public struct PurgeResult: Sendable, Equatable {
    /// Sessions removed because they passed their absolute or idle expiry.
    public var sessions: Int
    /// Reset tokens removed because they expired.
    public var resetTokens: Int
    /// Throttle records removed because they went quiet.
    public var throttles: Int
    /// Activity entries removed because they passed `ACTIVITY_RETENTION`.
    public var activity = 0
    /// Verification tokens removed because they expired.
    public var verificationTokens = 0
    /// Tokens of logins waiting for a code (`LoginChallenge`) removed because they expired.
    public var loginChallenges = 0
    /// Pending claims of addresses (`PendingClaim`) removed because they expired.
    public var pendingClaims = 0
    /// Outbox rows removed because they were sent or failed more than `OUTBOX_RETENTION` days ago.
    public var messages = 0

    /// Creates a result.
    /// - Parameters:
    ///   - sessions: The number of sessions removed.
    ///   - resetTokens: The number of reset tokens removed.
    ///   - throttles: The number of throttle records removed.
    public init(sessions: Int, resetTokens: Int, throttles: Int = 0) {
        self.sessions = sessions
        self.resetTokens = resetTokens
        self.throttles = throttles
    }
}
