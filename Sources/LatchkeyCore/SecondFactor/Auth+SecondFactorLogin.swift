import Foundation

/// Logging in to an account with an active second factor: the right password alone gives a
/// short-lived token (`MFAToken`) instead of a session, and a code with it makes the session, at
/// `aal` 2 (NIST SP 800-63B section 4.2). A client may also send the code with the password.
extension Auth {
    /// The first step: the password was right, a code is still needed. Stores a token that lets
    /// `finishLogin(mfaToken:code:origin:)` make the session within `policy.mfaTokenLifetime`.
    /// - Parameter login: What `validLogin(email:password:origin:)` returned, with
    ///   `secondFactorRequired` set.
    /// - Returns: The token for the client (32 random bytes, base64url); the store keeps its
    ///   SHA-256.
    /// - Throws: `storageUnavailable` (also when the account went meanwhile).
    public func beginSecondFactorLogin(for login: VerifiedLogin) async throws -> String {
        let token = SecretToken.generate()
        let record = MFAToken(
            tokenDigest: TokenDigest(of: token), userID: login.id, passwordHash: login.passwordHash,
            expiresAt: clock().addingTimeInterval(TimeInterval(policy.mfaTokenLifetime)))
        try await storage { try await store.addMFAToken(record) }
        return token
    }

    /// The second step: the token from the first and a code. Each token makes one session.
    /// - Parameters:
    ///   - mfaToken: The token `beginSecondFactorLogin(for:)` gave.
    ///   - code: A one-time or recovery code.
    ///   - origin: The client's address and agent, for the activity.
    /// - Returns: The verified login at `aal` 2, for `createSession(for:origin:)` (which makes
    ///   the session only while the password is still the one the first step checked).
    /// - Throws: `invalidMFAToken` for a malformed, unknown, expired or used token, or one whose
    ///   account's password or factor changed since; `throttled`; `wrongCode` (the token stays
    ///   usable); `secondFactorNotConfigured` when no key opens the factor; `storageUnavailable`.
    public func finishLogin(mfaToken: String, code: String, origin: SessionOrigin = SessionOrigin()) async throws
        -> VerifiedLogin
    {
        guard SecretToken.isWellFormed(mfaToken) else { throw AuthError.invalidMFAToken }
        let digest = TokenDigest(of: mfaToken)
        guard let record = try await storage({ try await store.findMFAToken(digest: digest) }),
            record.expiresAt > clock(),
            var user = try await storage({ try await store.findUser(by: .id(record.userID)) }),
            user.mfaEnabled, user.passwordHash.utf8.elementsEqual(record.passwordHash.utf8)
        else { throw AuthError.invalidMFAToken }
        // The code is checked before the token is claimed, so that a wrong code leaves the token
        // usable; two requests racing with one token may each use a code, and one gets the session.
        try await checkSecondFactor(code, of: SessionUser(user), origin: origin)
        guard try await storage({ try await store.deleteMFAToken(digest: digest) }) else {
            throw AuthError.invalidMFAToken
        }
        user.passwordHash = record.passwordHash
        return VerifiedLogin(user, aal: 2)
    }

    /// The one-step form: the password was right and the client sent a code with it.
    /// - Parameters:
    ///   - login: What `validLogin(email:password:origin:)` returned.
    ///   - code: A one-time or recovery code.
    ///   - origin: The client's address and agent, for the activity.
    /// - Returns: The login at `aal` 2.
    /// - Throws: `throttled`; `wrongCode`; `secondFactorNotConfigured`; `storageUnavailable`.
    public func completeLogin(_ login: VerifiedLogin, code: String, origin: SessionOrigin = SessionOrigin())
        async throws -> VerifiedLogin
    {
        try await checkSecondFactor(code, of: SessionUser(id: login.id, email: login.email), origin: origin)
        return login.withSecondFactor()
    }
}
