import Foundation

/// One entry of an account's security activity, which its owner sees (`GET /account/activity`)
/// so that they can notice someone else got in. It never holds a secret.
public struct ActivityEvent: Sendable, Equatable {
    /// What happened.
    public enum Kind: String, Sendable, CaseIterable {
        /// The account was created (its first entry).
        case registered
        /// A login with the right password started a session.
        case loginSucceeded = "login_succeeded"
        /// A wrong password for this account, at login or when an account route asked for it again.
        case loginFailed = "login_failed"
        /// The login throttle began a wait for this account's address (once per wait).
        case loginThrottled = "login_throttled"
        /// The right password was given for this account, which has a second factor, without a
        /// code: a login challenge was issued instead of a session (OWASP Multifactor
        /// Authentication Cheat Sheet: a right password without the factor is a sign of a stolen
        /// one).
        case loginSecondFactorRequired = "login_second_factor_required"
        /// A session was ended by logging out (`DELETE /sessions`).
        case loggedOut = "logged_out"
        /// The password was changed from a session.
        case passwordChanged = "password_changed"
        /// The password was reset with a reset token.
        case passwordReset = "password_reset"
        /// One session was ended from the account's session list.
        case sessionRevoked = "session_revoked"
        /// Every other session was ended at once (or every session, by an operator).
        case sessionsRevoked = "sessions_revoked"
        /// The address was verified with a token.
        case emailVerified = "email_verified"
        /// The address changed to a new, verified one.
        case emailChanged = "email_changed"
        /// A second factor (TOTP) became active.
        case secondFactorEnabled = "mfa_enabled"
        /// The second factor was removed, by its owner or by an operator.
        case secondFactorDisabled = "mfa_disabled"
        /// A recovery code was used in place of a one-time code.
        case recoveryCodeUsed = "recovery_code_used"
        /// A wrong one-time or recovery code was given for this account.
        case secondFactorFailed = "mfa_failed"
        /// New recovery codes replaced the unused ones.
        case recoveryCodesRegenerated = "recovery_codes_regenerated"
        /// A session was raised to assurance level 2 with a code, for an application behind the
        /// portal that asked for it (step-up).
        case steppedUp = "step_up"
    }

    /// The account.
    public let userID: Int64
    /// What happened.
    public let kind: Kind
    /// When.
    public let at: Date
    /// The client's address, when known.
    public let ip: String?
    /// The client's agent, when known.
    public let userAgent: String?

    /// Creates an event.
    /// - Parameters:
    ///   - userID: The account.
    ///   - kind: What happened.
    ///   - at: When.
    ///   - origin: The client's address and agent (default: unknown).
    public init(userID: Int64, kind: Kind, at: Date, origin: SessionOrigin = SessionOrigin()) {
        self.userID = userID
        self.kind = kind
        self.at = at
        self.ip = origin.ip
        self.userAgent = origin.userAgent
    }
}
