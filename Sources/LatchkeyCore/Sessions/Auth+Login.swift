import Foundation

extension Auth {
    /// A login's first step, the one entry point every surface calls: the password is checked
    /// (`validLogin(email:password:origin:)`), and the session is made, unless the account has
    /// an active second factor and no code came with the password; then a login challenge is
    /// issued instead (NIST SP 800-63B section 4.2: the session is made at `aal` 2 only).
    /// - Parameters:
    ///   - email: The email as sent.
    ///   - password: The password as sent.
    ///   - code: A one-time or recovery code, sent with the password, as typed
    ///     (`SecondFactorCode`); one that holds nothing is no code. It is read before the
    ///     password is checked, for every account: an error it throws (a surface's parsing, or a
    ///     code of neither shape) is thrown from here before any hashing or counting. For an
    ///     account without a second factor a well-formed code is ignored.
    ///   - origin: The client's address and agent, for the session and the activity.
    /// - Returns: `.loggedIn` with the session, or `.secondStepRequired` with the challenge.
    /// - Throws: `invalidInput` (`code must be 6 digits or a recovery code`) first; what
    ///   `validLogin(email:password:origin:)` throws; `throttled`, `wrongCode` and
    ///   `secondFactorNotConfigured` for a code sent with the password; `invalidCredentials`
    ///   when the password changed meanwhile; `storageUnavailable`.
    public func logIn(
        email: String, password: String, code: @autoclosure () throws -> String? = nil,
        origin: SessionOrigin = SessionOrigin()
    ) async throws -> LoginOutcome {
        let code = try SecondFactorCode.read(code())
        var login = try await validLogin(email: email, password: password, origin: origin)
        if login.secondStepRequired {
            guard let code else {
                let challenge = try await issueLoginChallenge(for: login)
                await record(.loginSecondFactorRequired, userID: login.id, origin: origin)
                return .secondStepRequired(challenge: challenge)
            }
            login = try await verifySecondStep(login, code: code, origin: origin)
        }
        return .loggedIn(try await grant(for: login, origin: origin))
    }

    /// Makes the session of a verified login and the grant a surface answers with: the cookie
    /// lives as long as the session, `policy.sessionLifetime` seconds.
    func grant(for login: VerifiedLogin, origin: SessionOrigin) async throws -> SessionGrant {
        let token = try await createSession(for: login, origin: origin)
        return SessionGrant(token: token, email: login.email, maxAge: policy.sessionLifetime)
    }

    /// Checks an email and password pair.
    /// - Parameters:
    ///   - email: The email as sent.
    ///   - password: The password as sent.
    ///   - origin: The client's address and agent, for the account's activity: a wrong password
    ///     for an account records `login_failed`, and `login_throttled` when it begins a wait.
    /// - Returns: The verified login (the account's id and normalised email) when the pair is
    ///   right; hand it to `createSession(for:)`, or, when `secondStepRequired`, to
    ///   `issueLoginChallenge(for:)` or `verifySecondStep(_:code:origin:)` first. A surface calls
    ///   `logIn(email:password:code:origin:)`, which does all of this.
    /// - Throws: `invalidCredentials` at once for an address the rules refuse (no hashing, no
    ///   throttle record: it cannot name an account); `throttled` (before any bcrypt work) while
    ///   a wait for this email runs, or while attempts under way already fill its limit;
    ///   `invalidCredentials` for an unknown email or a wrong password, after the same bcrypt
    ///   work in both cases, counted toward the wait; `emailNotVerified` for the right password
    ///   while `EMAIL_VERIFICATION=required` and the address is not verified (a new token goes
    ///   out of band).
    public func validLogin(email raw: String, password: String, origin: SessionOrigin = SessionOrigin()) async throws
        -> VerifiedLogin
    {
        guard let found = try await lookedUpAccount(typed: raw) else {
            metrics.loginsFailed.increment()
            throw AuthError.invalidCredentials
        }
        let (email, user) = found
        // Counted per email, registered or not, so that a 429 tells nothing about accounts.
        let (succeeded, normalized) = try await checkPassword(
            password, of: user, throttleKey: ThrottleKey(.login, email), origin: origin)
        guard var user, succeeded else { throw AuthError.invalidCredentials }
        if policy.emailVerification == .required, !user.emailVerified {
            // Only someone who knows the password learns this; the owner gets a new token.
            sendVerificationToken(for: user, alreadyCounted: false, languages: origin.languages)
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
                user = current
            }
        }
        return VerifiedLogin(user)
    }
}

extension Auth {
    /// Checks a password under the login throttle of `throttleKey`: an attempt is reserved
    /// first (refused with `throttled` before any bcrypt work), verified, and settled. A plain
    /// bcrypt hash is checked against the password exactly as sent, once; every other scheme
    /// against its NFKC form. A password the scheme cannot check faithfully (over 72 bytes or
    /// with a NUL for plain bcrypt; empty, too long or with a control character otherwise), and
    /// any password without an account, never matches, after the same work against the dummy
    /// hash. A failure for an account is recorded in its activity (`login_failed`, and
    /// `login_throttled` when it begins a wait). Logins and the account routes that ask for the
    /// password again share it.
    /// - Parameters:
    ///   - password: The password as sent.
    ///   - user: The account, or `nil` for an unknown address.
    ///   - throttleKey: The login throttle's key.
    ///   - origin: The client's address and agent, for the activity.
    /// - Returns: Whether it matched, and its NFKC form (for a rehash).
    /// - Throws: `throttled`; `overloaded` and the hasher's and store's failures.
    func checkPassword(
        _ password: String, of user: User?, throttleKey: ThrottleKey, origin: SessionOrigin
    ) async throws -> (matched: Bool, normalized: String) {
        let normalized = Validation.normalizedPassword(password)
        let candidate: String
        let checkable: Bool
        if let user, PasswordHashScheme(of: user.passwordHash) == .bcrypt {
            (candidate, checkable) = (password, Validation.fitsPlainBcrypt(password))
        } else {
            (candidate, checkable) = (normalized, Validation.shapeProblem(normalized) == nil)
        }
        let target = checkable ? (user?.passwordHash ?? dummyHash) : dummyHash
        let (succeeded, waitBegan) = try await throttledAttempt(
            throttleKey, policy.loginThrottle, refusals: metrics.loginsThrottled
        ) {
            let matches = try await hashing { try await hasher.verify(candidate, against: target) }
            return user != nil && checkable && matches
        }
        if !succeeded {
            metrics.loginsFailed.increment()
            if let user {
                await record(.loginFailed, userID: user.id, origin: origin)
                if waitBegan { await record(.loginThrottled, userID: user.id, origin: origin) }
            }
        }
        return (succeeded, normalized)
    }
}
