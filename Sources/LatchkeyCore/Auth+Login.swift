import Foundation

extension Auth {
    /// Checks an email and password pair.
    /// - Parameters:
    ///   - email: The email as sent.
    ///   - password: The password as sent.
    ///   - origin: The client's address and agent, for the account's activity: a wrong password
    ///     for an account records `login_failed`, and `login_throttled` when it begins a wait.
    /// - Returns: The verified login (the account's id and normalised email) when the pair is
    ///   right; hand it to `createSession(for:)`.
    /// - Throws: `invalidEmail` for a malformed email; `throttled` (before any bcrypt work) while
    ///   a wait for this email runs, or while attempts under way already fill its limit;
    ///   `invalidCredentials` for an unknown email or a wrong password, after the same bcrypt
    ///   work in both cases, counted toward the wait; `emailNotVerified` for the right password
    ///   while `EMAIL_VERIFICATION=required` and the address is not verified (a new token goes
    ///   out of band).
    public func validLogin(email raw: String, password: String, origin: SessionOrigin = SessionOrigin()) async throws
        -> VerifiedLogin
    {
        let (email, user) = try await account(typed: raw)
        // Counted per email, registered or not, so that a 429 tells nothing about accounts.
        let throttleKey = ThrottleKey(.login, email)
        let reservedAt: Date
        do {
            reservedAt = try await reserveAttempt(throttleKey, policy.loginThrottle)
        } catch AuthError.throttled(let seconds) {
            metrics.loginsThrottled.increment()
            throw AuthError.throttled(retryAfter: seconds)
        }
        // A plain bcrypt hash is checked against the password exactly as sent, once; every
        // other scheme against its NFKC form. A password the scheme cannot check faithfully
        // (over 72 bytes or with a NUL for plain bcrypt; empty, too long or with a control
        // character otherwise) never matches, after the same work against the dummy hash.
        let normalized = Validation.normalizedPassword(password)
        let (candidate, checkable) = Self.passwordCandidate(password, normalized: normalized, hash: user?.passwordHash)
        let target = checkable ? (user?.passwordHash ?? dummyHash) : dummyHash
        let matches: Bool
        do {
            matches = try await hashing { try await hasher.verify(candidate, against: target) }
        } catch {
            await releaseAttempt(throttleKey, policy.loginThrottle, reservedAt: reservedAt)
            throw error
        }
        let succeeded = user != nil && checkable && matches
        let waitBegan = try await settleAttempt(
            throttleKey, policy.loginThrottle, reservedAt: reservedAt, succeeded: succeeded)
        guard var user, succeeded else {
            metrics.loginsFailed.increment()
            if let user {
                await record(.loginFailed, userID: user.id, origin: origin)
                if waitBegan { await record(.loginThrottled, userID: user.id, origin: origin) }
            }
            throw AuthError.invalidCredentials
        }
        if policy.emailVerification == .required, !user.emailVerified {
            // Only someone who knows the password learns this; the owner gets a new token.
            sendVerificationToken(for: user, alreadyCounted: false)
            throw AuthError.emailNotVerified
        }
        metrics.loginsSucceeded.increment()
        // A plain bcrypt password that today's rules refuse (a control character) keeps its
        // hash: rehashing it would lock its owner out.
        if hasher.needsRehash(user.passwordHash), Validation.shapeProblem(normalized) == nil {
            // The password is at hand only now: store it with the current scheme and cost. A
            // right password is not refused because the queue is full: the old hash stays, to be
            // replaced at a later login.
            let newHash: String
            do {
                newHash = try await hashing { try await hasher.hash(normalized) }
            } catch AuthError.overloaded {
                return VerifiedLogin(user)
            }
            let oldHash = user.passwordHash
            let userID = user.id
            if try await storage({ try await store.replacePasswordHash(userID: userID, from: oldHash, to: newHash) }) {
                user.passwordHash = newHash
            } else if let current = try await storage({ try await store.findUser(by: .id(userID)) }),
                current.passwordHash != oldHash
            {
                // Another login replaced the hash first (a burst of logins after an upgrade), or
                // a reset changed the password: the session must be bound to the hash stored now,
                // and only if this password matches it.
                guard try await hashing({ try await hasher.verify(normalized, against: current.passwordHash) }) else {
                    throw AuthError.invalidCredentials
                }
                user.passwordHash = current.passwordHash
            }
        }
        return VerifiedLogin(user)
    }
}

extension Auth {
    /// What a password is checked as against a stored hash: exactly as sent for a plain bcrypt
    /// hash, its NFKC form for every other scheme (and for an unknown account).
    /// - Parameters:
    ///   - password: The password as sent.
    ///   - normalized: Its NFKC form (`Validation.normalizedPassword`).
    ///   - hash: The stored hash, or `nil` for an unknown account.
    /// - Returns: The text to verify, and whether the scheme can check it faithfully (a plain
    ///   bcrypt hash cannot check over 72 bytes or a NUL; no scheme an empty, too long or
    ///   control-character password). One that cannot is never a match.
    static func passwordCandidate(_ password: String, normalized: String, hash: String?) -> (String, Bool) {
        if let hash, PasswordHashScheme(of: hash) == .bcrypt {
            return (password, Validation.fitsPlainBcrypt(password))
        }
        return (normalized, Validation.shapeProblem(normalized) == nil)
    }
}
