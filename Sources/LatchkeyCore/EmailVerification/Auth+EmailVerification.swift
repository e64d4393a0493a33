import Foundation

/// A verification token just issued, for the response (`response` delivery) or a notice.
public struct IssuedVerificationToken: Sendable, Equatable {
    /// The canonical address the token proves.
    public let email: String
    /// The token: 32 random bytes, base64url (43 characters); the store keeps only its SHA-256.
    public let token: String
    /// When it stops being accepted.
    public let expiresAt: Date
}

/// What `Auth.requestEmailVerification(for:)` did.
public enum VerificationRequestOutcome: Sendable, Equatable {
    /// The token, for the response (`response` delivery).
    case issued(IssuedVerificationToken)
    /// Accepted for this canonical address: if it has an unverified account, a token went out of
    /// band. The same answer whether or not it has one.
    case accepted(email: String)
}

/// Address verification, mirroring the password reset: a token bound to the address it proves,
/// delivered as `TOKEN_DELIVERY` says (`RESET_TOKEN_DELIVERY`'s new name).
extension Auth {
    /// Handles a verification request as the delivery says: the token in the answer
    /// (`response`), or out of band with the same answer for every well-formed address.
    /// - Parameters:
    ///   - email: The address as sent.
    ///   - origin: The client; its `Accept-Language` is the language of the message.
    /// - Returns: What to answer.
    /// - Throws: `emailVerificationOff`; `invalidEmail`; `throttled` beyond `RESET_TOKENS_PER_HOUR`
    ///   requests for the address in the hour (a counter of its own); with `response` delivery,
    ///   `emailNotRegistered` (403) and `emailAlreadyVerified` (409); `storageUnavailable`.
    public func requestEmailVerification(for email: String, origin: SessionOrigin = SessionOrigin()) async throws
        -> VerificationRequestOutcome
    {
        guard policy.emailVerification != .off else { throw AuthError.emailVerificationOff }
        let (key, user) = try await account(typed: email)
        try await countVerificationRequest(key)
        guard policy.tokenDelivery.isOutOfBand else {
            guard let user else { throw AuthError.emailNotRegistered }
            guard !user.emailVerified else { throw AuthError.emailAlreadyVerified }
            return .issued(try await issueVerificationToken(for: user, email: user.email))
        }
        // The answer must not depend on whether the address has an account, in content or in
        // time: the token and the notice happen after it, in the background.
        if let user, !user.emailVerified {
            sendVerificationToken(for: user, alreadyCounted: true, languages: origin.languages)
        }
        return .accepted(email: key)
    }

    /// Verifies an address, or completes an email change, with a token.
    ///
    /// The first verification of an account's own address is a proof of its mailbox, and settles
    /// who the account belongs to. With `password`: if it is the account's password, or that of
    /// the address's pending claim (`PendingClaim`; one claim hash at most is checked), that hash
    /// becomes the account's; otherwise the password must pass the policy and becomes the
    /// account's. Then, as after a reset by token, the login challenges, the pending reset token
    /// and claim end, and the sessions too when `policy.resetEndsSessions`, so that nobody who
    /// knew another password stays in. Without `password` the address is verified and nothing
    /// else changes, unless a live claim exists: then nothing changes.
    /// - Parameters:
    ///   - token: The token as received.
    ///   - email: The address it was issued for, as sent.
    ///   - password: The password the person who proves the mailbox chose, or `nil`; read only for
    ///     the first verification of the account's own address.
    ///   - origin: The client's address and agent, for the account's activity.
    /// - Returns: The account, with its (new) address.
    /// - Throws: `emailVerificationOff`; `invalidEmail`; `throttled` (the reset-token throttle of
    ///   the address); `invalidVerificationToken` (403, counted) for a token that is not the
    ///   current one for that address; `invalidPassword` (400) for a new password the policy
    ///   refuses, and `invalidInput` (400, `password required: this address was registered more
    ///   than once`) without one while a claim is live, both leaving the token usable; `emailTaken`
    ///   (409) when the new address of a change was registered meanwhile; `overloaded`;
    ///   `storageUnavailable`.
    public func verifyEmail(
        token: String, email: String, password: String? = nil, origin: SessionOrigin = SessionOrigin()
    ) async throws -> Account {
        guard policy.emailVerification != .off else { throw AuthError.emailVerificationOff }
        // As logins and resets resolve it: an account listed among the email conflicts keeps its
        // old address, which its own tokens are bound to.
        let address = try await account(typed: email).key
        let throttleKey = ThrottleKey(.resetToken, address)
        let reservedAt = try await reserveAttempt(throttleKey, policy.resetTokenThrottle)
        var record: VerificationToken?
        do {
            if SecretToken.isWellFormed(token) {
                record = try await storage { try await store.findVerificationToken(digest: TokenDigest(of: token)) }
            }
        } catch {
            await releaseAttempt(throttleKey, policy.resetTokenThrottle, reservedAt: reservedAt)
            throw error
        }
        guard let record, record.email.utf8.elementsEqual(address.utf8), record.expiresAt > clock() else {
            try await settleAttempt(throttleKey, policy.resetTokenThrottle, reservedAt: reservedAt, succeeded: false)
            throw AuthError.invalidVerificationToken
        }
        try await settleAttempt(throttleKey, policy.resetTokenThrottle, reservedAt: reservedAt, succeeded: true)
        var proof: MailboxProof?
        var passwordChanged = false
        // Read once: for the first proof's password, and for the old address a change tells.
        let owner = try await storage { try await store.findUser(by: .id(record.userID)) }
        if let password, let user = owner, !user.emailVerified, user.email.utf8.elementsEqual(record.email.utf8) {
            let hash = try await chosenPasswordHash(password, for: user)
            passwordChanged = hash != user.passwordHash
            proof = MailboxProof(
                passwordHash: hash, revoking: .proofOfMailbox(endingSessions: policy.resetEndsSessions))
        }
        let now = clock()
        // The old address hears of a change in the same step; a proof of the own address sends nothing.
        let changeMessages =
            if let old = owner, !old.email.utf8.elementsEqual(record.email.utf8) {
                try await outboxMessages(
                    [.emailChanged(email: old.email, newEmail: record.email)], userID: old.id,
                    languages: origin.languages)
            } else {
                [OutboxMessage]()
            }
        let result = try await committing(
            changeMessages, when: { if case .changed = $0 { true } else { false } },
            { try await store.consumeVerificationToken(record, now: now, proving: proof, messages: changeMessages) })
        switch result {
        case .verified:
            await self.record(.emailVerified, userID: record.userID, origin: origin)
            if passwordChanged { await self.record(.passwordReset, userID: record.userID, origin: origin) }
        case .claimPending:
            throw AuthError.invalidInput(Self.passwordRequiredForClaimedAddress)
        case .changed:
            await self.record(.emailChanged, userID: record.userID, origin: origin)
        case .taken:
            throw AuthError.emailTaken
        case .invalid:
            try await recordFailure(throttleKey, policy.resetTokenThrottle)
            throw AuthError.invalidVerificationToken
        }
        guard let user = try await storage({ try await store.findUser(by: .id(record.userID)) }) else {
            throw AuthError.invalidVerificationToken
        }
        return Account(user)
    }

    /// The refusal of a verification without a password while the address has a live claim.
    public static let passwordRequiredForClaimedAddress =
        "password required: this address was registered more than once"

    /// The hash an account takes at the first proof of its mailbox: its own when `password` is its
    /// password, the pending claim's when it is that one's (one claim at most), else a new hash
    /// of `password`, which must pass the policy.
    /// - Throws: `invalidPassword`; `overloaded`; `storageUnavailable`.
    func chosenPasswordHash(_ password: String, for user: User) async throws -> String {
        if try await passwordMatches(password, hash: user.passwordHash) { return user.passwordHash }
        if let claim = try await storage({ try await store.pendingClaim(userID: user.id) }), claim.expiresAt > clock(),
            try await passwordMatches(password, hash: claim.passwordHash)
        {
            return claim.passwordHash
        }
        let normalized = try Validation.checkPassword(password, minimumLength: policy.passwordMinLength)
        return try await hashing { try await hasher.hash(normalized) }
    }

    /// Whether a password matches a hash, as a login checks it (`checkPassword`), without the
    /// login throttle: a plain bcrypt hash against the password as sent, any other scheme against
    /// its NFKC form; a password the scheme cannot check faithfully never matches.
    func passwordMatches(_ password: String, hash: String) async throws -> Bool {
        if PasswordHashScheme(of: hash) == .bcrypt {
            guard Validation.fitsPlainBcrypt(password) else { return false }
            return try await hashing { try await hasher.verify(password, against: hash) }
        }
        let normalized = Validation.normalizedPassword(password)
        guard Validation.shapeProblem(normalized) == nil else { return false }
        return try await hashing { try await hasher.verify(normalized, against: hash) }
    }

    /// Issues a token for an account's own address and sends it out of band, in the background,
    /// within the hourly limit: after a registration, and after a login refused for an address
    /// not verified yet. Only with out-of-band delivery (with `response` the client asks).
    /// - Parameters:
    ///   - user: The account.
    ///   - alreadyCounted: Whether the request was counted against the hourly limit already.
    ///   - languages: The request's `Accept-Language`, the message's language.
    func sendVerificationToken(for user: User, alreadyCounted: Bool, languages: String? = nil) {
        guard policy.emailVerification != .off, policy.tokenDelivery.isOutOfBand else { return }
        background.start { [self] in
            do {
                if !alreadyCounted { try await countVerificationRequest(user.email) }
                _ = try await issueVerificationToken(for: user, email: user.email, sending: true, languages: languages)
            } catch AuthError.throttled {
                // The hour's tokens for this address are spent; the next hour sends again.
            } catch {
                logger.error("a verification token could not be issued", metadata: ["error": "\(error)"])
            }
        }
    }

    /// Counts a verification request for an address, registered or not, and refuses it over the
    /// limit.
    func countVerificationRequest(_ email: String) async throws {
        try await countRequest(ThrottleKey(.verificationRequest, email), policy.verificationRequestLimit)
    }

    /// Stores a new verification token for an account, bound to `email` (its own address, or
    /// the new one of a change), replacing any earlier one. Its messages go into the outbox in the
    /// same store operation: for a change, the notice to the current address
    /// (`email_change_started`) and, with `sending`, the token to the new one; for the own
    /// address, with `sending`, the token.
    func issueVerificationToken(for user: User, email: String, sending: Bool = false, languages: String? = nil)
        async throws
        -> IssuedVerificationToken
    {
        let token = SecretToken.generate()
        let now = clock()
        let expiresAt = now.addingTimeInterval(TimeInterval(policy.verificationTokenTTL))
        let record = VerificationToken(
            userID: user.id, email: email, tokenDigest: TokenDigest(of: token), createdAt: now, expiresAt: expiresAt)
        var events: [AccountEvent] = []
        if !user.email.utf8.elementsEqual(email.utf8) {
            events.append(.emailChangeStarted(email: user.email, newEmail: email))
            if sending { events.append(.emailChangeRequested(email: email, token: token, expiresAt: expiresAt)) }
        } else if sending {
            events.append(.emailVerificationRequested(email: email, token: token, expiresAt: expiresAt))
        }
        let messages = try await outboxMessages(events, userID: user.id, languages: languages)
        try await committing(messages) { try await store.setVerificationToken(record, messages: messages) }
        return IssuedVerificationToken(email: email, token: token, expiresAt: expiresAt)
    }
}

extension Auth {
    /// Starts an email change from a live session, after checking the password: a verification
    /// token is issued for the new address, and the change happens only when `verifyEmail` is
    /// called with that address and token. The current address is told, not asked.
    /// - Parameters:
    ///   - live: The authenticated session (`authenticatedSession(token:)`).
    ///   - password: The account's password, as sent.
    ///   - newEmail: The new address, as sent.
    ///   - code: A one-time or recovery code, needed once a second factor is active.
    ///   - origin: The client's address and agent, for the account's activity.
    /// - Returns: As `requestEmailVerification(for:)`: the token (`response` delivery) or the
    ///   same answer as for any address. When accounts are concealed (production) and the new
    ///   address is taken, the answer is the same as for a free one, no token is issued (with
    ///   `response` delivery the token answered works nowhere), and the owner of the taken
    ///   address gets a `registration_attempt_existing_account` notice.
    /// - Throws: `invalidSession`; `emailVerificationOff`; `invalidEmail` (400) for a malformed
    ///   address; `invalidInput` when it is the account's own; `throttled` while the login
    ///   throttle waits, or beyond the hourly requests for the new address; `wrongPassword`
    ///   (counted by the login throttle); `secondStepRequired`, `wrongCode` (with a second
    ///   factor); `emailAlreadyRegistered` (400) for a taken address unless accounts are
    ///   concealed; `overloaded`; `storageUnavailable`.
    public func changeEmail(
        session live: AuthenticatedSession, password: String, newEmail: String, code: String? = nil,
        origin: SessionOrigin = SessionOrigin()
    ) async throws -> VerificationRequestOutcome {
        guard policy.emailVerification != .off else { throw AuthError.emailVerificationOff }
        let address = try Validation.normalizedEmail(newEmail)
        // Before the password and code are checked, so that a code is not used up on a refusal.
        guard !address.utf8.elementsEqual(live.user.email.utf8) else {
            throw AuthError.invalidInput("new_email is already this account's address")
        }
        let user = try await reauthenticate(live, password: password, code: code, origin: origin)
        try await countVerificationRequest(address)
        let holder = try await storage { try await store.findUser(by: .email(address)) }
        let conflicted = try await storage { try await store.hasEmailConflict(canonical: address) }
        if holder != nil || conflicted {
            guard policy.concealExistingAccounts else { throw AuthError.emailAlreadyRegistered }
            // The current address hears of the attempt as of any other, so that its own mailbox
            // tells nothing about the other address.
            await send(
                [.registrationAttemptExistingAccount(email: address)], userID: holder?.id, languages: origin.languages)
            await send(
                [.emailChangeStarted(email: user.email, newEmail: address)], userID: user.id,
                languages: origin.languages)
            guard policy.tokenDelivery.isOutOfBand else {
                let expiresAt = clock().addingTimeInterval(TimeInterval(policy.verificationTokenTTL))
                return .issued(
                    IssuedVerificationToken(email: address, token: SecretToken.generate(), expiresAt: expiresAt))
            }
            return .accepted(email: address)
        }
        guard policy.tokenDelivery.isOutOfBand else {
            return .issued(try await issueVerificationToken(for: user, email: address, languages: origin.languages))
        }
        // As for a taken address, the answer waits for nothing more: the token and the notices
        // happen after it, in the background.
        background.start { [self] in
            do {
                _ = try await issueVerificationToken(
                    for: user, email: address, sending: true, languages: origin.languages)
            } catch {
                logger.error("an email change's token could not be issued", metadata: ["error": "\(error)"])
            }
        }
        return .accepted(email: address)
    }
}
