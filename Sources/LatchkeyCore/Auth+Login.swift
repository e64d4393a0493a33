import Foundation

extension Auth {
    /// Checks an email and password pair.
    /// - Parameters:
    ///   - email: The email as sent.
    ///   - password: The password as sent.
    /// - Returns: The verified login (the account's id and normalised email) when the pair is
    ///   right; hand it to `createSession(for:)`.
    /// - Throws: `invalidEmail` for a malformed email; `throttled` while a wait for this email
    ///   runs (before any bcrypt work); `invalidCredentials` for an unknown email or a wrong
    ///   password, after the same bcrypt work in both cases, counted toward the wait.
    public func validLogin(email: String, password: String) async throws -> VerifiedLogin {
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
            try await storage { try await store.deleteThrottleRecord(throttleKey) }
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
        return VerifiedLogin(user)
    }
}
