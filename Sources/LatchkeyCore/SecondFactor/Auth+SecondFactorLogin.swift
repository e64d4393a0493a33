import Foundation

/// Logging in to an account with an active second factor: the right password alone gives a
/// short-lived login challenge instead of a session, and a code with it makes the session, at
/// `aal` 2 (NIST SP 800-63B section 4.2). A client may also send the code with the password.
extension Auth {
    /// A login's second step, the entry point every surface calls with the challenge that
    /// `logIn(email:password:code:origin:)` gave and a code. When it completes it checks again
    /// everything the first step checked: the account exists, its password is still the one the
    /// first step verified, its second factor is still active, and its address is verified while
    /// `EMAIL_VERIFICATION=required`. Each challenge makes one session.
    /// - Parameters:
    ///   - challenge: The challenge from `.secondStepRequired`.
    ///   - code: A one-time or recovery code, as typed (`SecondFactorCode`).
    ///   - origin: The client's address and agent, for the session and the activity.
    /// - Returns: The session, at `aal` 2.
    /// - Throws: What `verifySecondStep(challenge:code:origin:)` throws; `emailNotVerified` when
    ///   verification is required and the address is not verified; `invalidCredentials` when the
    ///   password changed between the code's check and the session's insert.
    public func continueLogIn(challenge: String, code: String, origin: SessionOrigin = SessionOrigin())
        async throws -> SessionGrant
    {
        let login = try await verifySecondStep(challenge: challenge, code: code, origin: origin)
        return try await grant(for: login, origin: origin)
    }

    /// Issues the challenge of a login whose password was right and which needs a code: it lets
    /// `verifySecondStep(challenge:code:origin:)` go on within `policy.loginChallengeLifetime`.
    /// - Parameter login: What `validLogin(email:password:origin:)` returned, with
    ///   `secondStepRequired` set.
    /// - Returns: The challenge for the client (32 random bytes, base64url); the store keeps its
    ///   SHA-256.
    /// - Throws: `storageUnavailable` (also when the account went meanwhile).
    public func issueLoginChallenge(for login: VerifiedLogin) async throws -> String {
        let token = SecretToken.generate()
        let record = LoginChallenge(
            tokenDigest: TokenDigest(of: token), userID: login.id, passwordHash: login.passwordHash,
            expiresAt: clock().addingTimeInterval(TimeInterval(policy.loginChallengeLifetime)))
        try await storage { try await store.addLoginChallenge(record) }
        return token
    }

    /// The second step's check: the challenge and a code. The challenge is used up only when the
    /// code is right.
    /// - Parameters:
    ///   - challenge: The challenge `issueLoginChallenge(for:)` gave.
    ///   - code: A one-time or recovery code, as typed (`SecondFactorCode`).
    ///   - origin: The client's address and agent, for the activity.
    /// - Returns: The verified login at `aal` 2, for `createSession(for:origin:)` (which makes
    ///   the session only while the password is still the one the first step checked).
    /// - Throws: `invalidInput` for a code of neither shape, and `secondStepRequired` for one that
    ///   holds nothing, before anything else; `invalidLoginChallenge` for a malformed, unknown,
    ///   expired or used challenge, or
    ///   one whose account's password or factor changed since; `emailNotVerified` when
    ///   `EMAIL_VERIFICATION=required` and the address is not verified; `throttled`; `wrongCode`
    ///   (the challenge stays usable); `secondFactorNotConfigured` when no key opens the factor;
    ///   `storageUnavailable`.
    public func verifySecondStep(challenge: String, code: String, origin: SessionOrigin = SessionOrigin())
        async throws -> VerifiedLogin
    {
        guard let code = try SecondFactorCode(typed: code) else { throw AuthError.secondStepRequired }
        guard SecretToken.isWellFormed(challenge) else { throw AuthError.invalidLoginChallenge }
        let digest = TokenDigest(of: challenge)
        guard let record = try await storage({ try await store.findLoginChallenge(digest: digest) }),
            record.expiresAt > clock(),
            var user = try await storage({ try await store.findUser(by: .id(record.userID)) }),
            user.secondFactorEnabled, user.passwordHash.utf8.elementsEqual(record.passwordHash.utf8)
        else { throw AuthError.invalidLoginChallenge }
        if policy.emailVerification == .required, !user.emailVerified {
            throw AuthError.emailNotVerified
        }
        // The code is checked before the challenge is claimed, so that a wrong code leaves it
        // usable; two requests racing with one challenge may each use a code, and one gets the
        // session.
        try await checkLoginCode(code, of: SessionUser(user), origin: origin)
        guard try await storage({ try await store.deleteLoginChallenge(digest: digest) }) else {
            throw AuthError.invalidLoginChallenge
        }
        user.passwordHash = record.passwordHash
        return VerifiedLogin(user, aal: 2)
    }

    /// The one-step form: the password was right and the client sent a code with it.
    /// - Parameters:
    ///   - login: What `validLogin(email:password:origin:)` returned.
    ///   - code: A one-time or recovery code, as typed (`SecondFactorCode`).
    ///   - origin: The client's address and agent, for the activity.
    /// - Returns: The login at `aal` 2.
    /// - Throws: `invalidInput` for a code of neither shape; `secondStepRequired` for one that
    ///   holds nothing; `throttled`; `wrongCode`; `secondFactorNotConfigured`; `storageUnavailable`.
    public func verifySecondStep(_ login: VerifiedLogin, code typed: String, origin: SessionOrigin = SessionOrigin())
        async throws -> VerifiedLogin
    {
        guard let code = try SecondFactorCode(typed: typed) else { throw AuthError.secondStepRequired }
        return try await verifySecondStep(login, code: code, origin: origin)
    }

    /// `verifySecondStep(_:code:origin:)` with a code already read.
    func verifySecondStep(_ login: VerifiedLogin, code: SecondFactorCode, origin: SessionOrigin) async throws
        -> VerifiedLogin
    {
        try await checkLoginCode(code, of: SessionUser(id: login.id, email: login.email), origin: origin)
        return login.withSecondFactor()
    }

    /// A login's code check: a wrong code after the right password also tells the owner at once
    /// (`password_used_without_second_factor`, at most one an hour).
    private func checkLoginCode(_ code: SecondFactorCode, of user: SessionUser, origin: SessionOrigin) async throws {
        do {
            try await checkSecondFactor(code, of: user, origin: origin)
        } catch AuthError.wrongCode {
            await noticePasswordWithoutSecondFactor(userID: user.id, email: user.email)
            throw AuthError.wrongCode
        }
    }
}
