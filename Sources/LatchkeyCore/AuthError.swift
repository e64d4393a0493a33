/// The outcomes of `Auth`'s rules that a caller must handle. The HTTP layer maps each
/// case to a status in one place.
public enum AuthError: Error, Sendable, Equatable {
    /// The email is malformed; the text says how.
    case invalidEmail(String)
    /// The password breaks the policy; the text says how.
    case invalidPassword(String)
    /// Registration of an email that already has an account.
    case emailAlreadyRegistered
    /// Unknown email or wrong password (deliberately the same case).
    case invalidCredentials
    /// The session token is missing, malformed, unknown or expired.
    case invalidSession
    /// A route with a live session asked for the account's password again, and it was wrong
    /// (counted by the login throttle).
    case wrongPassword
    /// A session identifier (`Session.publicID`), well formed or not, names no live session of
    /// the account.
    case sessionNotFound
    /// The account's stored password hash changed between the check and the change, while the
    /// session stayed (a concurrent login replaced an older hash); nothing was changed, and the
    /// request can be retried.
    case accountChanged
    /// A reset token was asked for an email that has no account.
    case emailNotRegistered
    /// The reset token is unknown, used, expired or issued for another email.
    case invalidResetToken
    /// The verification token is unknown, used, expired or bound to another address.
    case invalidVerificationToken
    /// A verification was asked for an address that is already verified.
    case emailAlreadyVerified
    /// The right password for an address not verified yet, while `EMAIL_VERIFICATION=required`.
    case emailNotVerified
    /// The address of an email change was registered by another account meanwhile; nothing
    /// changed.
    case emailTaken
    /// Email verification is off (`EMAIL_VERIFICATION=off`).
    case emailVerificationOff
    /// The account has an active second factor and no code was sent.
    case secondStepRequired
    /// The one-time or recovery code is wrong, already used, or outside its window (counted by
    /// the second-factor throttle).
    case wrongCode
    /// An enrolment was begun while a second factor is active.
    case secondFactorAlreadyActive
    /// A second factor was to be enrolled for an address not verified yet (with
    /// `EMAIL_VERIFICATION` other than `off`): whoever registered an address they do not own must
    /// not plant a factor that locks its owner out after a reset.
    case emailVerificationRequiredFirst
    /// An enrolment was confirmed with none pending.
    case noPendingEnrolment
    /// The account has no active second factor to remove or renew.
    case noActiveSecondFactor
    /// No `MFA_ENCRYPTION_KEY` is configured (or none opens the stored secret).
    case secondFactorNotConfigured
    /// The token of a login's second step is malformed, unknown, expired or used, or the
    /// account's password or factor changed since the first step.
    case invalidLoginChallenge
    /// A field the caller sent is unusable by the store; the text says which.
    case invalidInput(String)
    /// Too many failures or requests for this email: wait this many whole seconds.
    case throttled(retryAfter: Int)
    /// The database is unreachable or failed; the request can be retried.
    case storageUnavailable
    /// The hashing threads have more work queued than they can start within the hashing queue
    /// timeout (`HashingAdmission`): nothing was checked; retry after this many whole seconds.
    case overloaded(retryAfter: Int)
}
