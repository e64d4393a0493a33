import Foundation

extension Auth {
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
    func resetPasswordToken(for email: String) async throws -> IssuedResetToken {
        let email = try Validation.normalizedEmail(email)
        try await countResetRequest(email)
        return try await issueResetToken(email)
    }

    /// Counts a reset request for an email, registered or not, and refuses it over the limit.
    func countResetRequest(_ email: String) async throws {
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
    func issueResetToken(_ email: String) async throws -> IssuedResetToken {
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
    /// - Returns: The account, with the normalised email.
    /// - Throws: `invalidEmail`, `throttled`, `invalidPassword`, `invalidResetToken` (counted
    ///   toward a wait), `storageUnavailable`.
    public func updatePassword(resetToken: String, email: String, newPassword: String) async throws -> Account {
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
            try await storage { try await store.deleteThrottleRecord(throttleKey) }
        }
        return Account(user)
    }
}
