import Foundation

/// A TOTP enrolment begun: what the owner puts into an authenticator app.
public struct TOTPEnrolment: Sendable, Equatable {
    /// The secret in base32 (RFC 4648 section 6) without padding, for typing in.
    public let secret: String
    /// The `otpauth://` key URI, for a QR code (`TOTP.keyURI(issuer:account:secret:)`).
    public let keyURI: String
}

/// The second factor confirmed: its recovery codes and the session's new token.
public struct ConfirmedTOTP: Sendable, Equatable {
    /// The new set of recovery codes, as shown once (`RecoveryCode.generate()`).
    public let recoveryCodes: [String]
    /// The session that confirmed it, under a new token, now at `aal` 2.
    public let session: SessionGrant
}

/// The account's second factor (TOTP, RFC 6238, with recovery codes): enrolment, removal and the
/// code check every route that asks for a code shares. Routes that change the factor need a
/// live session, and those that remove or replace something ask for the password and a code
/// (OWASP ASVS 5.0 7.5.1: full re-authentication).
extension Auth {
    /// Begins an enrolment: a new secret, pending until a code from it confirms it, replacing any
    /// pending one.
    /// - Parameters:
    ///   - live: The authenticated session (`authenticatedSession(token:)`).
    ///   - password: The account's password, as sent.
    ///   - origin: The client's address and agent, for the activity.
    /// - Returns: The secret and its key URI.
    /// - Throws: `invalidSession`; `secondFactorNotConfigured` without `MFA_ENCRYPTION_KEY`;
    ///   `secondFactorAlreadyActive`; `emailVerificationRequiredFirst` while the address is not
    ///   verified (unless `EMAIL_VERIFICATION=off`), before the password is checked; `throttled`;
    ///   `wrongPassword`; `accountChanged` when another enrolment began meanwhile (its secret is
    ///   the one that works); `overloaded`; `storageUnavailable`.
    public func beginTOTPEnrolment(session live: AuthenticatedSession, password: String, origin: SessionOrigin)
        async throws -> TOTPEnrolment
    {
        let keyring = try configuredKeyring()
        let user = try await currentUser(live)
        guard !user.secondFactorEnabled else { throw AuthError.secondFactorAlreadyActive }
        try requireProvenAddress(user)
        // The state this enrolment starts from: a concurrent one that lands first wins.
        let revision = try await storage { try await store.secondFactor(userID: user.id) }?.revision
        let (matched, _) = try await checkPassword(
            password, of: user, throttleKey: ThrottleKey(.login, user.email), origin: origin)
        guard matched else { throw AuthError.wrongPassword }
        let secret = TOTP.newSecret()
        let sealed = try keyring.seal(secret, userID: user.id)
        guard
            try await storage({
                try await store.setPendingTOTPSecret(userID: user.id, sealed: sealed, ifRevision: revision)
            })
        else {
            throw try await storage({ try await store.secondFactor(userID: user.id) })?.isActive == true
                ? AuthError.secondFactorAlreadyActive : AuthError.accountChanged
        }
        return TOTPEnrolment(
            secret: TOTP.base32(secret),
            keyURI: TOTP.keyURI(issuer: policy.secondFactorIssuer, account: user.email, secret: secret))
    }

    /// Confirms the pending enrolment with a code from it: the factor is active from now, with a
    /// new set of recovery codes; every other session ends and this one gets a new token at
    /// `aal` 2 (OWASP ASVS 5.0 7.2.4); the owner is notified.
    /// - Parameters:
    ///   - live: The authenticated session (`authenticatedSession(token:)`).
    ///   - code: A code from the pending secret.
    ///   - origin: The client's address and agent, for the activity.
    /// - Returns: The recovery codes and the session's new token.
    /// - Throws: `invalidInput` for a code of neither shape (`SecondFactorCode`) and
    ///   `secondStepRequired` for an empty one, before anything is counted; `invalidSession`;
    ///   `emailVerificationRequiredFirst` while the address is not verified;
    ///   `secondFactorNotConfigured`; `noPendingEnrolment`; `throttled` (wrong codes counted per
    ///   account); `wrongCode` (a recovery code is one here); `accountChanged` when the pending
    ///   enrolment was replaced or confirmed meanwhile; `storageUnavailable`.
    public func confirmTOTPEnrolment(session live: AuthenticatedSession, code typed: String, origin: SessionOrigin)
        async throws -> ConfirmedTOTP
    {
        guard let code = try SecondFactorCode(typed: typed) else { throw AuthError.secondStepRequired }
        let keyring = try configuredKeyring()
        let userID = live.user.id
        // The address may have changed since the enrolment began (an operator's rename).
        try requireProvenAddress(try await currentUser(live))
        guard let pending = try await storage({ try await store.secondFactor(userID: userID) })?.pendingSecret,
            let secret = keyring.open(pending, userID: userID)?.secret
        else { throw AuthError.noPendingEnrolment }
        var step: UInt64?
        try await countCodeAttempt(userID: userID, origin: origin) {
            guard case .oneTime(let digits) = code else { return false }
            step = TOTP.verify(digits, secret: secret, at: clock(), after: nil)
            return step != nil
        }
        let (codes, digests) = Self.newRecoveryCodes(keyring)
        let newToken = SecretToken.generate()
        let messages = try await outboxMessages(
            [.secondFactorEnabled(email: live.user.email, at: clock())], userID: userID, languages: origin.languages)
        let activated = try await committingChange(messages) {
            try await store.activateTOTP(
                userID: userID, pending: pending, step: Int64(clamping: step ?? 0), recoveryCodes: digests,
                keeping: live.digest, as: TokenDigest(of: newToken), messages: messages)
        }
        guard activated else {
            _ = try await liveSession(live.token)
            throw AuthError.accountChanged
        }
        let now = clock()
        await record(.secondFactorEnabled, userID: userID, origin: origin)
        return ConfirmedTOTP(
            recoveryCodes: codes,
            session: SessionGrant(
                token: newToken, email: live.user.email, expiresAt: live.session.expiresAt, now: now))
    }

    /// Removes the second factor and its recovery codes after the password and a code; the owner
    /// is notified. Sessions keep going, at `aal` 1.
    /// - Parameters:
    ///   - live: The authenticated session (`authenticatedSession(token:)`).
    ///   - password: The account's password, as sent.
    ///   - code: A one-time or recovery code.
    ///   - origin: The client's address and agent, for the activity.
    /// - Throws: `invalidSession`; `noActiveSecondFactor`; `throttled`; `wrongPassword`;
    ///   `secondStepRequired` without a code; `wrongCode`; `secondFactorNotConfigured` when no key
    ///   opens the factor; `accountChanged` when the factor changed since the request began;
    ///   `overloaded`; `storageUnavailable`.
    public func disableTOTP(session live: AuthenticatedSession, password: String, code: String?, origin: SessionOrigin)
        async throws
    {
        let (current, revision) = try await activeFactor(live)
        let user = try await reauthenticate(current, password: password, code: code, origin: origin)
        let messages = try await outboxMessages(
            [.secondFactorDisabled(email: user.email, at: clock())], userID: user.id, languages: origin.languages)
        guard
            try await committingChange(
                messages,
                { try await store.deleteSecondFactor(userID: user.id, ifRevision: revision, messages: messages) })
        else { throw AuthError.accountChanged }
        await record(.secondFactorDisabled, userID: user.id, origin: origin)
    }

    /// Replaces the recovery codes after the password and a code: the old ones stop working.
    /// - Parameters:
    ///   - live: The authenticated session (`authenticatedSession(token:)`).
    ///   - password: The account's password, as sent.
    ///   - code: A one-time or recovery code.
    ///   - origin: The client's address and agent, for the activity.
    /// - Returns: The new codes, as shown once.
    /// - Throws: as `disableTOTP(session:password:code:origin:)`.
    public func regenerateRecoveryCodes(
        session live: AuthenticatedSession, password: String, code: String?, origin: SessionOrigin
    ) async throws -> [String] {
        let (current, revision) = try await activeFactor(live)
        let user = try await reauthenticate(current, password: password, code: code, origin: origin)
        let keyring = try configuredKeyring()
        let (codes, digests) = Self.newRecoveryCodes(keyring)
        guard
            try await storage({
                try await store.replaceRecoveryCodes(userID: user.id, digests: digests, ifRevision: revision)
            })
        else { throw AuthError.accountChanged }
        await record(.recoveryCodesRegenerated, userID: user.id, origin: origin)
        return codes
    }

    /// Checks a one-time code (TOTP, each step accepted once) or a recovery code (each used once)
    /// for an account with an active factor, counted per account by the second-factor throttle
    /// (`MFA_MAX_FAILURES`). A wrong code is recorded as `mfa_failed`; a recovery code used is
    /// recorded and its owner told how many are left. A secret sealed under an older key is
    /// sealed again under the current one.
    /// - Parameters:
    ///   - code: The code, read (`SecondFactorCode`).
    ///   - user: The account's id and address.
    ///   - origin: The client's address and agent, for the activity.
    /// - Throws: `secondFactorNotConfigured` without keys (or when none opens the secret);
    ///   `throttled`; `wrongCode`; `storageUnavailable`.
    func checkSecondFactor(_ code: SecondFactorCode, of user: SessionUser, origin: SessionOrigin) async throws {
        let keyring = try configuredKeyring()
        var recoveryCodesLeft: Int?
        try await countCodeAttempt(userID: user.id, origin: origin) {
            guard let factor = try await storage({ try await store.secondFactor(userID: user.id) }),
                let sealed = factor.secret
            else { return false }
            let digits: String
            switch code {
            case .recovery(let canonical):
                let digests = keyring.recoveryCodeDigests(canonical)
                // The notice rides with the code's use; its count is the one read just before.
                let messages = try await outboxMessages(
                    [.recoveryCodeUsed(email: user.email, at: clock(), left: max(0, factor.recoveryCodesLeft - 1))],
                    userID: user.id, languages: origin.languages)
                recoveryCodesLeft = try await committing(
                    messages, when: { $0 != nil },
                    { try await store.consumeRecoveryCode(userID: user.id, digests: digests, messages: messages) })
                return recoveryCodesLeft != nil
            case .oneTime(let typed):
                digits = typed
            }
            guard let (secret, underCurrentKey) = keyring.open(sealed, userID: user.id) else {
                logger.error(
                    "a second-factor secret does not open with the configured keys", metadata: ["user_id": "\(user.id)"]
                )
                throw AuthError.secondFactorNotConfigured
            }
            let lastStep = factor.lastStep.map { UInt64(clamping: $0) }
            guard let step = TOTP.verify(digits, secret: secret, at: clock(), after: lastStep) else { return false }
            let resealed = underCurrentKey ? nil : try keyring.seal(secret, userID: user.id)
            return try await storage {
                try await store.acceptTOTPStep(
                    userID: user.id, step: Int64(clamping: step), secret: sealed, resealed: resealed)
            }
        }
        if recoveryCodesLeft != nil {
            await record(.recoveryCodeUsed, userID: user.id, origin: origin)
        }
    }

    /// Runs one code check under the account's second-factor throttle: reserved first (refused
    /// with `throttled` before any check), settled after; a failure is counted, recorded as
    /// `mfa_failed` and thrown as `wrongCode`.
    private func countCodeAttempt(
        userID: Int64, origin: SessionOrigin, _ check: () async throws -> Bool
    ) async throws {
        let (matched, _) = try await throttledAttempt(
            ThrottleKey(.secondFactor, String(userID)), policy.secondFactorThrottle,
            refusals: metrics.secondFactorThrottled, check)
        guard matched else {
            metrics.secondFactorFailed.increment()
            await record(.secondFactorFailed, userID: userID, origin: origin)
            throw AuthError.wrongCode
        }
        metrics.secondFactorSucceeded.increment()
    }

    /// A new set of recovery codes, as shown, and their digests under the current key.
    static func newRecoveryCodes(_ keyring: SecondFactorKeyring) -> (codes: [String], digests: [Data]) {
        let codes = (0..<RecoveryCode.setSize).map { _ in RecoveryCode.generate() }
        return (codes, codes.compactMap(RecoveryCode.canonical).map(keyring.recoveryCodeDigest))
    }

    /// Refuses a second factor's enrolment while the account's address is not verified, unless
    /// verification is off: a factor planted by someone who registered an address they do not own
    /// would lock its owner out after their reset (the mailbox is the proof of ownership; NIST
    /// SP 800-63B section 6.1.2.3 binds an authenticator to an account only once it is proven).
    func requireProvenAddress(_ user: User) throws {
        guard policy.emailVerification == .off || user.emailVerified else {
            throw AuthError.emailVerificationRequiredFirst
        }
    }

    /// The keys, or `secondFactorNotConfigured` when there are none.
    func configuredKeyring() throws -> SecondFactorKeyring {
        guard let keyring = policy.secondFactorKeyring else { throw AuthError.secondFactorNotConfigured }
        return keyring
    }

    /// The account behind a live session and its active factor's revision, read when a change of
    /// the factor begins: the change lands only if the factor is still at that revision, so that
    /// of two changes at once the later answers `accountChanged` instead of codes that never work.
    /// - Throws: `invalidSession`; `noActiveSecondFactor`; `storageUnavailable`.
    func activeFactor(_ live: AuthenticatedSession) async throws -> (user: User, revision: Int64) {
        let user = try await currentUser(live)
        guard user.secondFactorEnabled,
            let factor = try await storage({ try await store.secondFactor(userID: user.id) }), factor.isActive
        else { throw AuthError.noActiveSecondFactor }
        return (user, factor.revision)
    }

    /// The account behind a live session, as stored now.
    func currentUser(_ live: AuthenticatedSession) async throws -> User {
        guard let user = try await storage({ try await store.findUser(by: .id(live.user.id)) }) else {
            throw AuthError.invalidSession
        }
        return user
    }

    /// Whether the configured keys can read the second factors stored: `nil` when they can (or
    /// none is stored), else the reason, for a start-up that must stop rather than lock every
    /// such account out.
    /// - Returns: The problem, in one sentence, or `nil`.
    /// - Throws: `storageUnavailable`.
    public func secondFactorKeyProblem() async throws -> String? {
        let sample = try await storage { try await store.sampleTOTPSecrets(limit: 20) }
        guard !sample.isEmpty else { return nil }
        guard let keyring = policy.secondFactorKeyring else {
            return "second factors are active in the database but MFA_ENCRYPTION_KEY is not set"
        }
        if sample.contains(where: { keyring.open($0.secret, userID: $0.userID) != nil }) { return nil }
        return "MFA_ENCRYPTION_KEY (and MFA_ENCRYPTION_KEYS_PREVIOUS) open none of the second factors in the database"
    }
}
