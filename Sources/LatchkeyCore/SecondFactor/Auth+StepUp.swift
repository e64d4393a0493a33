import Foundation

extension Auth {
    /// Raises a live one-factor session to assurance level 2 with a code of the account's factor
    /// (step-up, asked by an application behind the portal): the session gets a new token (OWASP
    /// ASVS 5.0 7.2.4: a new token when the level rises), keeping its id and expiry; the activity
    /// records `step_up`.
    /// - Parameters:
    ///   - live: The authenticated session (`authenticatedSession(token:)`).
    ///   - code: A one-time code or a recovery code, as typed.
    ///   - origin: The client's address and agent, for the activity.
    /// - Returns: The session's new token; its own token, with no code checked, when it is at
    ///   level 2 already.
    /// - Throws: `invalidInput` for a code of neither shape and `secondStepRequired` for an empty
    ///   one, before anything is counted; `noActiveSecondFactor` for an account without a factor;
    ///   `secondFactorNotConfigured`; `throttled`; `wrongCode`; `invalidSession` when the session
    ///   ended meanwhile (or the factor was removed); `storageUnavailable`.
    public func stepUp(session live: AuthenticatedSession, code typed: String, origin: SessionOrigin) async throws
        -> SessionGrant
    {
        // At level 2 already: nothing to raise, and no code is spent (a recovery code is used once).
        if live.aal >= 2 {
            return SessionGrant(
                token: live.token, email: live.user.email, expiresAt: live.session.expiresAt, now: clock())
        }
        guard let code = try SecondFactorCode(typed: typed) else { throw AuthError.secondStepRequired }
        let userID = live.user.id
        guard try await storage({ try await store.secondFactor(userID: userID) })?.secret != nil else {
            throw AuthError.noActiveSecondFactor
        }
        try await checkSecondFactor(code, of: live.user, origin: origin)
        let newToken = SecretToken.generate()
        let raised = try await storage {
            try await store.stepUpSession(userID: userID, keeping: live.digest, as: TokenDigest(of: newToken))
        }
        guard raised else { throw AuthError.invalidSession }
        await record(.steppedUp, userID: userID, origin: origin)
        return SessionGrant(token: newToken, email: live.user.email, expiresAt: live.session.expiresAt, now: clock())
    }
}
