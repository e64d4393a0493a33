import Foundation
import LatchkeyCore

extension InMemoryStore {
    /// Stores the user's reset token, replacing an earlier one.
    public func setResetToken(_ token: ResetToken, messages: [OutboxMessage]) throws {
        try check()
        guard users[token.userID] != nil else { throw StoreError.notFound }
        resetTokens[token.userID] = token
        write(messages)
    }

    /// Finds the user's pending reset token.
    public func findResetToken(userID: Int64) throws -> ResetToken? {
        try check()
        return resetTokens[userID]
    }

    /// Consumes a valid token, changes the hash, drops the verification and second-factor login
    /// tokens and, when asked, ends the user's sessions, all at once.
    public func resetPassword(
        userID: Int64, digest: TokenDigest, passwordHash: String, now: Date, revoking revocation: PasswordRevocation,
        messages: [OutboxMessage]
    ) throws -> Bool {
        try check()
        try StoreError.checkText(passwordHash)
        guard let token = resetTokens[userID], token.tokenDigest == digest, token.expiresAt > now,
            users[userID] != nil
        else { return false }
        resetTokens.removeValue(forKey: userID)
        users[userID]?.passwordHash = passwordHash
        revoke(revocation, userID: userID, keeping: nil)
        write(messages)
        return true
    }

    /// Applies what a new password revokes (`PasswordRevocation`).
    func revoke(_ revocation: PasswordRevocation, userID: Int64, keeping: TokenDigest?) {
        if revocation.contains(.sessions) {
            sessions = sessions.filter { $0.value.userID != userID || $0.key == keeping }
        }
        if revocation.contains(.resetToken) { resetTokens.removeValue(forKey: userID) }
        if revocation.contains(.verificationToken) { verificationTokens.removeValue(forKey: userID) }
        if revocation.contains(.loginChallenges) {
            loginChallenges = loginChallenges.filter { $0.value.userID != userID }
        }
        if revocation.contains(.pendingClaim) { pendingClaims.removeValue(forKey: userID) }
    }

    /// Removes expired sessions, and expired reset, verification and second-factor login tokens
    /// and pending claims.
    public func purgeExpired(now: Date, idleCutoff: Date) throws -> PurgeResult {
        try check()
        let doomedSessions = sessions.filter { $0.value.expiresAt <= now || $0.value.lastSeenAt <= idleCutoff }.map(
            \.key)
        for key in doomedSessions { sessions.removeValue(forKey: key) }
        let doomedTokens = resetTokens.filter { $0.value.expiresAt <= now }.map(\.key)
        for key in doomedTokens { resetTokens.removeValue(forKey: key) }
        var result = PurgeResult(sessions: doomedSessions.count, resetTokens: doomedTokens.count)
        let doomedVerifications = verificationTokens.filter { $0.value.expiresAt <= now }.map(\.key)
        for key in doomedVerifications { verificationTokens.removeValue(forKey: key) }
        result.verificationTokens = doomedVerifications.count
        let doomedLoginChallenges = loginChallenges.filter { $0.value.expiresAt <= now }.map(\.key)
        for key in doomedLoginChallenges { loginChallenges.removeValue(forKey: key) }
        result.loginChallenges = doomedLoginChallenges.count
        let doomedClaims = pendingClaims.filter { $0.value.expiresAt <= now }.map(\.key)
        for key in doomedClaims { pendingClaims.removeValue(forKey: key) }
        result.pendingClaims = doomedClaims.count
        return result
    }
}
