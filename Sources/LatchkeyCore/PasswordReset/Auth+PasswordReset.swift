import Foundation

extension Auth {
    /// Handles a reset request as `policy.tokenDelivery` says: the token in the answer
    /// (`response`), or out of band through the outbox with the same answer for every
    /// well-formed email (`log`, `webhook`).
    /// An address the rules refuse is answered as an unregistered one, and not counted.
    /// - Parameters:
    ///   - email: The email as sent.
    ///   - origin: The client; its `Accept-Language` is the language of the message.
    /// - Returns: What to answer: `.accepted` echoes the canonical address, or the address as
    ///   sent when the rules refuse it.
    /// - Throws: `throttled`, `storageUnavailable`; `emailNotRegistered` only with `response`
    ///   delivery.
    public func requestPasswordReset(for email: String, origin: SessionOrigin = SessionOrigin()) async throws
        -> ResetRequestOutcome
    {
        guard policy.tokenDelivery.isOutOfBand else {
            return .issued(try await resetPasswordToken(for: email))
        }
        guard let found = try await lookedUpAccount(typed: email) else {
            return .accepted(email: email)
        }
        let (key, user) = found
        try await countResetRequest(key)
        // The answer must not depend on whether the email has an account, in content or in
        // time: the token and its message are written after it, in the background.
        if let user {
            background.start { [self] in
                do {
                    _ = try await issueResetToken(for: user, sending: true, languages: origin.languages)
                } catch {
                    logger.error("a requested reset token could not be issued", metadata: ["error": "\(error)"])
                }
            }
        }
        return .accepted(email: key)
    }

    /// Issues a reset token for an email, replacing any earlier one.
    /// - Parameter email: The email as sent.
    /// - Returns: The token and the account's email.
    /// - Throws: `throttled`, `emailNotRegistered` (also for an address the rules refuse, which
    ///   is not counted), `storageUnavailable`.
    func resetPasswordToken(for email: String) async throws -> IssuedResetToken {
        guard let found = try await lookedUpAccount(typed: email) else { throw AuthError.emailNotRegistered }
        let (key, user) = found
        try await countResetRequest(key)
        guard let user else { throw AuthError.emailNotRegistered }
        return try await issueResetToken(for: user)
    }

    /// Counts a reset request for an email, registered or not, and refuses it over the limit.
    func countResetRequest(_ email: String) async throws {
        try await countRequest(ThrottleKey(.resetRequest, email), policy.resetRequestLimit)
    }

    /// Counts a request under a per-email limit, and refuses it (`throttled`) over the limit.
    func countRequest(_ key: ThrottleKey, _ limit: RequestLimit) async throws {
        let now = clock()
        let counted = try await storage {
            try await store.updateThrottleRecord(key) { limit.requesting($0, now: now) }
        }
        if let counted, let seconds = limit.retryAfter(counted, now: now) {
            throw AuthError.throttled(retryAfter: seconds)
        }
    }

    /// Stores a new reset token for an account; with `sending`, its message goes into the
    /// outbox in the same store operation.
    func issueResetToken(for user: User, sending: Bool = false, languages: String? = nil) async throws
        -> IssuedResetToken
    {
        let token = SecretToken.generate()
        let now = clock()
        let expiresAt = now.addingTimeInterval(TimeInterval(policy.resetTokenTTL))
        let record = ResetToken(
            userID: user.id, tokenDigest: TokenDigest(of: token), createdAt: now, expiresAt: expiresAt)
        let messages =
            sending
            ? try await outboxMessages(
                [.passwordResetRequested(email: user.email, token: token, expiresAt: expiresAt)], userID: user.id,
                languages: languages) : []
        try await committing(messages) { try await store.setResetToken(record, messages: messages) }
        metrics.resetTokensIssued.increment()
        return IssuedResetToken(email: user.email, token: token, expiresAt: expiresAt)
    }

    /// Sets a new password with a reset token. The token is single use; a pending email change
    /// and the logins waiting for a second-factor code (bound to the old password) end; every
    /// session of the user ends when `policy.resetEndsSessions`, and stays otherwise, also when
    /// the reset is the account's first proof of its mailbox.
    /// - Parameters:
    ///   - resetToken: The token the user received.
    ///   - email: The email the token was issued for, as sent.
    ///   - newPassword: The new password; it must pass the policy.
    ///   - origin: The client's address and agent, for the account's activity (`password_reset`).
    /// - Returns: The account, with the normalised email.
    /// - Throws: `invalidResetToken` at once, not counted, for an address the rules refuse;
    ///   `throttled`; `invalidResetToken` (counted toward a wait) for a
    ///   token that is not the account's current one, whatever the new password; then
    ///   `invalidPassword` (the token stays usable); `storageUnavailable`.
    public func updatePassword(
        resetToken: String, email: String, newPassword: String, origin: SessionOrigin = SessionOrigin()
    ) async throws -> Account {
        guard let found = try await lookedUpAccount(typed: email) else { throw AuthError.invalidResetToken }
        let (key, account) = found
        let throttleKey = ThrottleKey(.resetToken, key)
        let reservedAt = try await reserveAttempt(throttleKey, policy.resetTokenThrottle)
        // The token first: a wrong token is a 403 whatever the new password, and a refused
        // password after a right token leaves the token usable for a corrected retry.
        var record: ResetToken?
        do {
            if let user = account, SecretToken.isWellFormed(resetToken) {
                record = try await storage { try await store.findResetToken(userID: user.id) }
            }
        } catch {
            await releaseAttempt(throttleKey, policy.resetTokenThrottle, reservedAt: reservedAt)
            throw error
        }
        let digest = TokenDigest(of: resetToken)
        // Checked before hashing so that a wrong token costs no bcrypt work; the store checks
        // again atomically when it consumes the token.
        guard SecretToken.isWellFormed(resetToken), let user = account, let record,
            record.tokenDigest.constantTimeEquals(digest), record.expiresAt > clock()
        else {
            try await settleAttempt(throttleKey, policy.resetTokenThrottle, reservedAt: reservedAt, succeeded: false)
            throw AuthError.invalidResetToken
        }
        try await settleAttempt(throttleKey, policy.resetTokenThrottle, reservedAt: reservedAt, succeeded: true)
        let newPassword = try Validation.checkPassword(
            newPassword, minimumLength: policy.passwordMinLength, field: "new_password")
        let hash = try await hashing { try await hasher.hash(newPassword) }
        let messages = try await outboxMessages(
            [.passwordReset(email: user.email, at: clock(), ip: origin.ip, userAgent: origin.userAgent)],
            userID: user.id, languages: origin.languages)
        let changed = try await committingChange(messages) {
            try await store.resetPassword(
                userID: user.id, digest: digest, passwordHash: hash, now: clock(),
                revoking: .passwordReset(endingSessions: policy.resetEndsSessions), messages: messages)
        }
        guard changed else {
            try await recordFailure(throttleKey, policy.resetTokenThrottle)
            throw AuthError.invalidResetToken
        }
        metrics.resetTokensUsed.increment()
        // The reset token reached the mailbox: that proves the address.
        do {
            _ = try await store.setEmailVerified(userID: user.id, true)
        } catch {
            logger.warning("could not mark a reset account's address verified", metadata: ["error": "\(error)"])
        }
        await self.record(.passwordReset, userID: user.id, origin: origin)
        return Account(user)
    }
}
