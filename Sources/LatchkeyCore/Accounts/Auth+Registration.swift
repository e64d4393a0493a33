import Foundation

extension Auth {
    /// Registers a new user.
    /// - Parameters:
    ///   - email: The email as sent; it is trimmed and lower-cased.
    ///   - password: The password as sent; it must pass the policy.
    ///   - origin: The client's address and agent, for the new account's first activity entry
    ///     (`registered`).
    /// - Returns: The new account, with the normalised email. When `policy.concealExistingAccounts`
    ///   is set and the email already has an account, that account, after the same hashing work
    ///   and a notification to its owner: the caller must answer exactly as for a new one. While
    ///   that account's address is not verified (and verification is on), the registration is kept
    ///   as the address's pending claim (`PendingClaim`, replacing an earlier one): whoever then
    ///   proves the mailbox may take its password (`verifyEmail(token:email:password:origin:)`).
    ///   No token is sent for it.
    /// - Throws: `invalidEmail`, `invalidPassword`, `emailAlreadyRegistered` (not when concealing),
    ///   `storageUnavailable`.
    public func registerUser(email: String, password: String, origin: SessionOrigin = SessionOrigin()) async throws
        -> Account
    {
        let email = try Validation.normalizedEmail(email)
        let password = try Validation.checkPassword(password, minimumLength: policy.passwordMinLength)
        // An address whose canonical form stored accounts still share (email conflicts) is taken.
        let conflicted = try await storage { try await store.hasEmailConflict(canonical: email) }
        let existing = try await storage { try await store.findUser(by: .email(email)) }
        if existing != nil || conflicted, !policy.concealExistingAccounts {
            // Checked before hashing so that a taken address costs no bcrypt work; the unique
            // index still decides a race between two registrations.
            throw AuthError.emailAlreadyRegistered
        }
        // When concealing, an existing address costs the same bcrypt work as a new one.
        let hash = try await hashing { try await hasher.hash(password) }
        if let existing {
            try await claim(existing, passwordHash: hash, languages: origin.languages)
            return Account(existing)
        }
        if conflicted {
            await send([.registrationAttemptExistingAccount(email: email)], userID: nil, languages: origin.languages)
            return Account(id: 0, email: email, createdAt: clock())
        }
        do {
            let user = try await storage {
                try await store.addUser(email: email, passwordHash: hash, createdAt: clock())
            }
            metrics.registrations.increment()
            await record(.registered, userID: user.id, origin: origin)
            // With out-of-band delivery the new address gets its verification token at once.
            sendVerificationToken(for: user, alreadyCounted: false, languages: origin.languages)
            return Account(user)
        } catch AuthError.emailAlreadyRegistered where policy.concealExistingAccounts {
            // Lost a race with another registration of the same address.
            guard let winner = try await storage({ try await store.findUser(by: .email(email)) }) else {
                throw AuthError.storageUnavailable
            }
            try await claim(winner, passwordHash: hash, languages: origin.languages)
            return Account(winner)
        }
    }

    /// A registration of an address that has an account, when accounts are concealed: kept as the
    /// address's pending claim while the account is unverified (better-auth #11023: otherwise the
    /// owner who follows the link verifies the account with the squatter's password), and the
    /// owner is told as for any such attempt.
    private func claim(_ existing: User, passwordHash: String, languages: String?) async throws {
        if !existing.emailVerified, policy.emailVerification != .off {
            let now = clock()
            let claim = PendingClaim(
                userID: existing.id, passwordHash: passwordHash, createdAt: now,
                expiresAt: now.addingTimeInterval(TimeInterval(policy.verificationTokenTTL)))
            _ = try await storage { try await store.setPendingClaim(claim) }
        }
        await send(
            [.registrationAttemptExistingAccount(email: existing.email)], userID: existing.id, languages: languages)
    }
}
