import Foundation
import Logging

/// A reset token just issued, with the normalised email it is bound to.
public struct IssuedResetToken: Sendable, Equatable {
    /// The normalised email the token is bound to.
    public var email: String
    /// The token to hand to the owner of the email; the store keeps only its digest.
    public var token: String
    /// When the token stops being accepted.
    public var expiresAt: Date
}

/// Every rule of the service: registration, login, sessions, password resets and the
/// password policy. The HTTP layer talks to this type only; it talks to the store.
///
/// Every method throws only `AuthError`.
public final class Auth: Sendable {
    /// The rules' tunable values.
    public let policy: AuthPolicy
    let store: any AuthStore
    private let hasher: any PasswordHasher
    private let notifier: (any AccountNotifier)?
    private let metrics: AuthMetrics
    let clock: @Sendable () -> Date
    private let logger: Logger
    /// A hash of a random password, verified against when an email is unknown so that a
    /// login for an unknown email costs the same bcrypt work as a wrong password.
    private let dummyHash: String

    /// Creates the rules over a store and a hasher.
    /// - Parameters:
    ///   - store: Where users, sessions and reset tokens live.
    ///   - hasher: The password hasher.
    ///   - policy: The rules' tunable values.
    ///   - notifier: Where account events go: reset tokens when `policy.resetTokenDelivery` is
    ///     out of band, and attempts to register an existing email when accounts are concealed.
    ///   - metrics: Where counts and bcrypt durations go (default: the process's metrics system).
    ///   - logger: Where storage failures are reported (never secrets).
    ///   - clock: The source of the current time; tests substitute their own.
    /// - Throws: When the hasher cannot make the dummy hash.
    public init(
        store: any AuthStore,
        hasher: any PasswordHasher,
        policy: AuthPolicy = AuthPolicy(),
        notifier: (any AccountNotifier)? = nil,
        metrics: AuthMetrics = AuthMetrics(),
        logger: Logger = Logger(label: "latchkey.auth"),
        clock: @escaping @Sendable () -> Date = { Date() }
    ) async throws {
        self.store = store
        self.hasher = hasher
        self.notifier = notifier
        self.metrics = metrics
        self.policy = policy
        self.logger = logger
        self.clock = clock
        self.dummyHash = try await hasher.hash(SecretToken.generate())
    }

    /// Registers a new user.
    /// - Parameters:
    ///   - email: The email as sent; it is trimmed and lower-cased.
    ///   - password: The password as sent; it must pass the policy.
    /// - Returns: The new user, with the normalised email. When `policy.concealExistingAccounts`
    ///   is set and the email already has an account, that account, after the same hashing work
    ///   and a notification to its owner: the caller must answer exactly as for a new one.
    /// - Throws: `invalidEmail`, `invalidPassword`, `emailAlreadyRegistered` (not when concealing),
    ///   `storageUnavailable`.
    public func registerUser(email: String, password: String) async throws -> User {
        let email = try Validation.normalizedEmail(email)
        try Validation.checkPassword(password, minimumLength: policy.passwordMinLength)
        let existing = try await storage { try await store.findUser(by: .email(email)) }
        if let existing, !policy.concealExistingAccounts {
            // Checked before hashing so that a taken address costs no bcrypt work; the unique
            // index still decides a race between two registrations.
            throw AuthError.emailAlreadyRegistered
        }
        // When concealing, an existing address costs the same bcrypt work as a new one.
        let hash = try await hashing { try await hasher.hash(password) }
        if let existing {
            notifier?.notify(.registrationAttemptExistingAccount(email: email))
            return existing
        }
        do {
            let user = try await storage {
                try await store.addUser(email: email, passwordHash: hash, createdAt: clock())
            }
            metrics.registrations.increment()
            return user
        } catch AuthError.emailAlreadyRegistered where policy.concealExistingAccounts {
            // Lost a race with another registration of the same address.
            notifier?.notify(.registrationAttemptExistingAccount(email: email))
            guard let winner = try await storage({ try await store.findUser(by: .email(email)) }) else {
                throw AuthError.storageUnavailable
            }
            return winner
        }
    }

    /// Checks an email and password pair.
    /// - Parameters:
    ///   - email: The email as sent.
    ///   - password: The password as sent.
    /// - Returns: The user when the pair is right.
    /// - Throws: `invalidEmail` for a malformed email; `throttled` while a wait for this email
    ///   runs (before any bcrypt work); `invalidCredentials` for an unknown email or a wrong
    ///   password, after the same bcrypt work in both cases, counted toward the wait.
    public func validLogin(email: String, password: String) async throws -> User {
        let email = try Validation.normalizedEmail(email)
        // Counted per email, registered or not, so that a 429 tells nothing about accounts.
        let throttleKey = ThrottleKey(.login, email)
        let throttle: ThrottleRecord?
        do {
            throttle = try await checkThrottle(throttleKey, policy.loginThrottle)
        } catch AuthError.throttled(let seconds) {
            metrics.loginsThrottled.increment()
            throw AuthError.throttled(retryAfter: seconds)
        }
        let user = try await storage { try await store.findUser(by: .email(email)) }
        // A password bcrypt cannot hash faithfully never matches: verifying it would compare
        // only its first 72 bytes (or the bytes before a NUL).
        let hashable = Validation.isHashable(password)
        let target = hashable ? (user?.passwordHash ?? dummyHash) : dummyHash
        let matches = try await hashing { try await hasher.verify(password, against: target) }
        guard var user, hashable, matches else {
            metrics.loginsFailed.increment()
            try await recordFailure(throttleKey, policy.loginThrottle)
            throw AuthError.invalidCredentials
        }
        metrics.loginsSucceeded.increment()
        if throttle != nil {
            try await storage { try await store.updateThrottleRecord(throttleKey) { _ in nil } }
        }
        if hasher.needsRehash(user.passwordHash) {
            // The password is at hand only now: store it hashed with the current cost.
            let newHash = try await hashing { try await hasher.hash(password) }
            let oldHash = user.passwordHash
            let userID = user.id
            if try await storage({ try await store.replacePasswordHash(userID: userID, from: oldHash, to: newHash) }) {
                user.passwordHash = newHash
            }
        }
        return user
    }

    /// Starts a session for a user.
    /// - Parameter user: The user who just logged in, as `validLogin` returned it.
    /// - Returns: The session token for the cookie; the store keeps only its digest.
    /// - Throws: `invalidCredentials` when the password changed since the login was checked;
    ///   `storageUnavailable`.
    public func createSession(for user: User) async throws -> String {
        let token = SecretToken.generate()
        let now = clock()
        let session = Session(
            tokenDigest: TokenDigest(of: token),
            userID: user.id,
            createdAt: now,
            lastSeenAt: now,
            expiresAt: now.addingTimeInterval(TimeInterval(policy.sessionLifetime))
        )
        guard try await storage({ try await store.addSession(session, ifPasswordHash: user.passwordHash) }) else {
            throw AuthError.invalidCredentials
        }
        metrics.sessionsCreated.increment()
        return token
    }

    /// Finds the user behind a live session, refreshing its last-seen time at most once
    /// per `sessionTouchInterval`.
    /// - Parameter token: The session token from the cookie.
    /// - Returns: The session's user: its id and email.
    /// - Throws: `invalidSession` when the token is malformed, unknown or expired.
    public func user(forSessionToken token: String) async throws -> SessionUser {
        try await liveSession(token).user
    }

    /// Ends the session a token names, and only that one.
    /// - Parameter token: The session token from the cookie.
    /// - Throws: `invalidSession` when it names no live session.
    public func destroySession(token: String) async throws {
        let digest = try await liveSession(token).digest
        guard try await storage({ try await store.deleteSession(digest: digest) }) else {
            throw AuthError.invalidSession
        }
        metrics.sessionsEndedByLogout.increment()
    }

    /// Looks up a live session: the token's shape, its digest, then absolute and idle expiry.
    private func liveSession(_ token: String) async throws -> (digest: TokenDigest, user: SessionUser) {
        // A malformed token costs no database round trip.
        guard SecretToken.isWellFormed(token) else { throw AuthError.invalidSession }
        let digest = TokenDigest(of: token)
        guard let (session, user) = try await storage({ try await store.findSession(digest: digest) }) else {
            throw AuthError.invalidSession
        }
        let now = clock()
        let idleDeadline = session.lastSeenAt.addingTimeInterval(TimeInterval(policy.sessionIdleTimeout))
        if session.expiresAt <= now || idleDeadline <= now {
            if (try? await store.deleteSession(digest: digest)) == true {
                metrics.sessionsEndedByExpiry.increment()
            }
            throw AuthError.invalidSession
        }
        if now.timeIntervalSince(session.lastSeenAt) >= touchInterval {
            do {
                try await store.touchSession(digest: digest, lastSeenAt: now)
            } catch {
                // A failed refresh only shortens the idle window; the read itself succeeded.
                logger.warning("could not refresh a session's last-seen time", metadata: ["error": "\(error)"])
            }
        }
        return (digest, user)
    }

    /// Handles a reset request as `policy.resetTokenDelivery` says: the token in the answer
    /// (`response`), or out of band through the notifier with the same answer for every
    /// well-formed email (`log`, `webhook`).
    /// - Parameter email: The email as sent.
    /// - Returns: What to answer.
    /// - Throws: `invalidEmail`, `throttled`, `storageUnavailable`; `emailNotRegistered` only
    ///   with `response` delivery.
    public func requestPasswordReset(for email: String) async throws -> ResetRequestOutcome {
        guard policy.resetTokenDelivery.isOutOfBand else {
            return .issued(try await resetPasswordToken(for: email))
        }
        let email = try Validation.normalizedEmail(email)
        try await countResetRequest(email)
        // The answer must not depend on whether the email has an account, in content or in
        // time: the lookup, the token and the notification happen after it, in the background.
        Task { [self] in
            do {
                let issued = try await issueResetToken(email)
                notifier?.notify(
                    .passwordResetRequested(email: issued.email, token: issued.token, expiresAt: issued.expiresAt))
            } catch AuthError.emailNotRegistered {
                // Nothing to send; the caller got the same answer.
            } catch {
                logger.error("a requested reset token could not be issued", metadata: ["error": "\(error)"])
            }
        }
        return .accepted(email: email)
    }

    /// Issues a reset token for an email, replacing any earlier one.
    /// - Parameter email: The email as sent.
    /// - Returns: The token and the normalised email.
    /// - Throws: `invalidEmail`, `throttled`, `emailNotRegistered`, `storageUnavailable`.
    public func resetPasswordToken(for email: String) async throws -> IssuedResetToken {
        let email = try Validation.normalizedEmail(email)
        try await countResetRequest(email)
        return try await issueResetToken(email)
    }

    /// Counts a reset request for an email, registered or not, and refuses it over the limit.
    private func countResetRequest(_ email: String) async throws {
        let limit = policy.resetRequestLimit
        let now = clock()
        let counted = try await storage {
            try await store.updateThrottleRecord(ThrottleKey(.resetRequest, email)) { limit.requesting($0, now: now) }
        }
        if let counted, let seconds = limit.retryAfter(counted, now: now) {
            throw AuthError.throttled(retryAfter: seconds)
        }
    }

    /// Stores a new reset token for the account of a normalised email.
    private func issueResetToken(_ email: String) async throws -> IssuedResetToken {
        guard let user = try await storage({ try await store.findUser(by: .email(email)) }) else {
            throw AuthError.emailNotRegistered
        }
        let token = SecretToken.generate()
        let now = clock()
        let expiresAt = now.addingTimeInterval(TimeInterval(policy.resetTokenTTL))
        let record = ResetToken(
            userID: user.id, tokenDigest: TokenDigest(of: token), createdAt: now, expiresAt: expiresAt)
        try await storage { try await store.setResetToken(record) }
        metrics.resetTokensIssued.increment()
        return IssuedResetToken(email: user.email, token: token, expiresAt: expiresAt)
    }

    /// Sets a new password with a reset token. The token is single use; every session of the
    /// user ends.
    /// - Parameters:
    ///   - resetToken: The token the user received.
    ///   - email: The email the token was issued for, as sent.
    ///   - newPassword: The new password; it must pass the policy.
    /// - Returns: The user, with the normalised email.
    /// - Throws: `invalidEmail`, `throttled`, `invalidPassword`, `invalidResetToken` (counted
    ///   toward a wait), `storageUnavailable`.
    public func updatePassword(resetToken: String, email: String, newPassword: String) async throws -> User {
        let email = try Validation.normalizedEmail(email)
        let throttleKey = ThrottleKey(.resetToken, email)
        let throttle = try await checkThrottle(throttleKey, policy.resetTokenThrottle)
        try Validation.checkPassword(newPassword, minimumLength: policy.passwordMinLength, field: "new_password")
        guard SecretToken.isWellFormed(resetToken),
            let user = try await storage({ try await store.findUser(by: .email(email)) }),
            let record = try await storage({ try await store.findResetToken(userID: user.id) })
        else {
            try await recordFailure(throttleKey, policy.resetTokenThrottle)
            throw AuthError.invalidResetToken
        }
        let digest = TokenDigest(of: resetToken)
        // Checked before hashing so that a wrong token costs no bcrypt work; the store checks
        // again atomically when it consumes the token.
        guard record.tokenDigest.constantTimeEquals(digest), record.expiresAt > clock() else {
            try await recordFailure(throttleKey, policy.resetTokenThrottle)
            throw AuthError.invalidResetToken
        }
        let hash = try await hashing { try await hasher.hash(newPassword) }
        let changed = try await storage {
            try await store.resetPassword(userID: user.id, digest: digest, passwordHash: hash, now: clock())
        }
        guard changed else {
            try await recordFailure(throttleKey, policy.resetTokenThrottle)
            throw AuthError.invalidResetToken
        }
        metrics.resetTokensUsed.increment()
        if throttle != nil {
            try await storage { try await store.updateThrottleRecord(throttleKey) { _ in nil } }
        }
        var updated = user
        updated.passwordHash = hash
        return updated
    }

    /// Whether the database answers, for readiness checks.
    /// - Returns: `true` when a trivial query succeeds.
    public func isStorageReady() async -> Bool {
        do {
            try await store.checkAvailable()
            return true
        } catch {
            return false
        }
    }

    /// Removes expired sessions and reset tokens so that the tables stay bounded.
    /// - Returns: What was removed.
    /// - Throws: `storageUnavailable`.
    @discardableResult
    public func purgeExpired() async throws -> PurgeResult {
        let now = clock()
        let idleCutoff = now.addingTimeInterval(-TimeInterval(policy.sessionIdleTimeout))
        var result = try await storage { try await store.purgeExpired(now: now, idleCutoff: idleCutoff) }
        let memory = max(policy.loginThrottle.memory, policy.resetTokenThrottle.memory, policy.resetRequestLimit.window)
        let quietSince = now.addingTimeInterval(-TimeInterval(memory))
        result.throttles = try await storage { try await store.purgeThrottles(lastBefore: quietSince, now: now) }
        return result
    }

    /// The least time between two last-seen refreshes: the policy's interval, but never more
    /// than half the idle timeout, so that a session in use cannot idle out between refreshes.
    private var touchInterval: TimeInterval {
        TimeInterval(min(policy.sessionTouchInterval, policy.sessionIdleTimeout / 2))
    }

    /// Reads a throttle record and refuses the attempt while its wait runs.
    /// - Returns: The record, so that a success can clear it.
    private func checkThrottle(_ key: ThrottleKey, _ throttle: FailureThrottle) async throws -> ThrottleRecord? {
        let record = try await storage { try await store.throttleRecord(key) }
        if let seconds = throttle.retryAfter(record, now: clock()) {
            throw AuthError.throttled(retryAfter: seconds)
        }
        return record
    }

    /// Counts one failure, starting a wait when it reaches the limit.
    private func recordFailure(_ key: ThrottleKey, _ throttle: FailureThrottle) async throws {
        let now = clock()
        try await storage { try await store.updateThrottleRecord(key) { throttle.failing($0, now: now) } }
    }

    /// Runs a store call and turns its failures into `AuthError`s.
    func storage<T>(_ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch let error as StoreError {
            switch error {
            case .duplicateEmail:
                throw AuthError.emailAlreadyRegistered
            case .invalidValue(let reason):
                throw AuthError.invalidInput(reason)
            case .notFound, .unavailable:
                logger.error("storage failure", metadata: ["error": "\(error)"])
                throw AuthError.storageUnavailable
            }
        } catch let error as AuthError {
            throw error
        } catch {
            logger.error("storage failure", metadata: ["error": "\(error)"])
            throw AuthError.storageUnavailable
        }
    }

    /// Runs a hasher call; a hasher that is shutting down makes the request retryable.
    private func hashing<T>(_ body: () async throws -> T) async throws -> T {
        let started = ContinuousClock.now
        defer { metrics.bcryptDuration.record(duration: ContinuousClock.now - started) }
        do {
            return try await body()
        } catch {
            logger.error("password hashing failed", metadata: ["error": "\(error)"])
            throw AuthError.storageUnavailable
        }
    }
}
