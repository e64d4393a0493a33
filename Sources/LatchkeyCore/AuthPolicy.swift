/// The tunable rules of `Auth`. Read from configuration by the executable and passed in.
public struct AuthPolicy: Sendable, Equatable {
    /// The shortest password accepted, in characters.
    public var passwordMinLength: Int
    /// How long a session lives at most, in seconds, whatever its use.
    public var sessionLifetime: Int
    /// How long a session may go unused, in seconds, before it ends.
    public var sessionIdleTimeout: Int
    /// How long a reset token is accepted, in seconds.
    public var resetTokenTTL: Int
    /// The least time between two last-seen refreshes of a session, in seconds, so that
    /// most session reads stay reads.
    public var sessionTouchInterval: Int
    /// Failed logins per email before waits begin, and the waits.
    public var loginThrottle = FailureThrottle()
    /// Wrong reset tokens per email before waits begin, and the waits.
    public var resetTokenThrottle = FailureThrottle()
    /// Reset tokens that may be requested per email per window.
    public var resetRequestLimit = RequestLimit()
    /// How reset tokens reach their owners.
    public var tokenDelivery = TokenDelivery.response
    /// Whether a password reset ends every session of the account (`RESET_ENDS_SESSIONS`):
    /// `false` keeps them, as the original service did (its development profile); `true` is what
    /// OWASP ASVS 5.0 7.4.3 asks of a credential change (the production profile's default).
    public var resetEndsSessions = false
    /// Whether registration hides which emails have accounts (the production profile): an
    /// existing email is answered as a new one, after the same hashing work, and its owner is
    /// notified instead.
    public var concealExistingAccounts = false
    /// The most sessions one account keeps (`SESSIONS_PER_USER_MAX`): a login beyond it ends
    /// the account's least recently used session (OWASP ASVS 5.0 7.1.2 asks that the limit and
    /// what happens at it be documented).
    public var sessionsPerUserMax = 100
    /// Whether addresses are verified, and whether a login needs it (`EMAIL_VERIFICATION`).
    public var emailVerification = EmailVerification.optional
    /// How long a verification token is accepted, in seconds (`EMAIL_VERIFICATION_TTL`).
    public var verificationTokenTTL = 86_400
    /// Verification tokens that may be requested per address per window: a counter of its own,
    /// with the reset requests' limit (`RESET_TOKENS_PER_HOUR`).
    public var verificationRequestLimit = RequestLimit()
    /// How long an account's security activity is kept, in days (`ACTIVITY_RETENTION`).
    public var activityRetentionDays = 90
    /// The issuer an authenticator app shows for the second factor (`MFA_ISSUER`).
    public var secondFactorIssuer = "Latchkey"
    /// The keys that seal second-factor secrets (`MFA_ENCRYPTION_KEY`,
    /// `MFA_ENCRYPTION_KEYS_PREVIOUS`); `nil`: enrolment answers `secondFactorNotConfigured`.
    public var secondFactorKeyring: SecondFactorKeyring?
    /// Wrong codes per account (`MFA_MAX_FAILURES`, waits from `THROTTLE_FIRST_WAIT` and
    /// `THROTTLE_MAX_WAIT`).
    public var secondFactorThrottle = FailureThrottle(maxFailures: 5)
    /// How long the token of a login's first step lasts, in seconds (`MFA_LOGIN_TOKEN_TTL`, 30 to
    /// 3600).
    public var loginChallengeLifetime = 300
    /// The channels a message with a token leaves by, one outbox row each (`TOKEN_DELIVERY`: the
    /// log, the webhook or mail).
    public var tokenChannels: [MessageChannel] = [.log]
    /// The channels a notice leaves by, one outbox row each: mail when `EMAIL_FROM` is set, the
    /// webhook when one is configured, the log when neither is (or tokens go to the log).
    public var noticeChannels: [MessageChannel] = [.log]
    /// The first retry delay of a failed message, in seconds (`OUTBOX_RETRY_FIRST`; the others
    /// scale with it, `OutboxSchedule`).
    public var outboxRetryFirst = 10
    /// How long sent and failed outbox rows are kept, in days (`OUTBOX_RETENTION`).
    public var outboxRetentionDays = 7

    /// Creates a policy; the defaults are the service's defaults.
    /// - Parameters:
    ///   - passwordMinLength: The shortest password accepted (default 1).
    ///   - sessionLifetime: The absolute session lifetime in seconds (default 30 days).
    ///   - sessionIdleTimeout: The idle timeout in seconds (default 7 days).
    ///   - resetTokenTTL: The reset token lifetime in seconds (default 1 hour).
    ///   - sessionTouchInterval: The least time between last-seen refreshes (default 60 s).
    public init(
        passwordMinLength: Int = 1,
        sessionLifetime: Int = 30 * 24 * 3600,
        sessionIdleTimeout: Int = 7 * 24 * 3600,
        resetTokenTTL: Int = 3600,
        sessionTouchInterval: Int = 60
    ) {
        self.passwordMinLength = passwordMinLength
        self.sessionLifetime = sessionLifetime
        self.sessionIdleTimeout = sessionIdleTimeout
        self.resetTokenTTL = resetTokenTTL
        self.sessionTouchInterval = sessionTouchInterval
    }
}
