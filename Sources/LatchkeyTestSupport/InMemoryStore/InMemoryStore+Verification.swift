import Foundation
import LatchkeyCore

extension InMemoryStore {
    /// Sets the user's verification state.
    public func setEmailVerified(userID: Int64, _ verified: Bool) throws -> Bool {
        try check()
        guard users[userID] != nil else { return false }
        users[userID]?.emailVerified = verified
        return true
    }

    /// Stores the user's verification token, replacing an earlier one.
    public func setVerificationToken(_ token: VerificationToken, messages: [OutboxMessage]) throws {
        try check()
        try StoreError.checkText(token.email)
        guard users[token.userID] != nil else { throw StoreError.notFound }
        verificationTokens[token.userID] = token
        write(messages)
    }

    /// Finds a verification token by its digest.
    public func findVerificationToken(digest: TokenDigest) throws -> VerificationToken? {
        try check()
        return verificationTokens.values.first { $0.tokenDigest == digest }
    }

    /// Uses a verification token, all at once.
    public func consumeVerificationToken(
        _ token: VerificationToken, now: Date, proving proof: MailboxProof?, messages: [OutboxMessage]
    ) throws -> VerificationResult {
        try check()
        if let proof { try StoreError.checkText(proof.passwordHash) }
        guard let stored = verificationTokens[token.userID], stored.tokenDigest == token.tokenDigest,
            stored.email.utf8.elementsEqual(token.email.utf8), stored.expiresAt > now, let user = users[token.userID]
        else { return .invalid }
        guard !user.email.utf8.elementsEqual(token.email.utf8) else {
            if !user.emailVerified {
                if let proof {
                    users[user.id]?.passwordHash = proof.passwordHash
                    revoke(proof.revoking, userID: user.id, keeping: nil)
                } else if let claim = pendingClaims[user.id], claim.expiresAt > now {
                    return .claimPending
                }
            }
            verificationTokens.removeValue(forKey: user.id)
            users[user.id]?.emailVerified = true
            return .verified
        }
        if userIDsByEmail[Array(token.email.utf8)] != nil { return .taken }
        verificationTokens.removeValue(forKey: user.id)
        _ = try renameUser(id: user.id, email: token.email)
        users[user.id]?.emailVerified = true
        // A reset token went to the old mailbox: it must not work for the new address.
        resetTokens.removeValue(forKey: user.id)
        write(messages)
        return .changed(from: user.email)
    }

    /// Stores the claim while the user's address is not verified.
    public func setPendingClaim(_ claim: PendingClaim) throws -> Bool {
        try check()
        try StoreError.checkText(claim.passwordHash)
        guard let user = users[claim.userID], !user.emailVerified else { return false }
        pendingClaims[claim.userID] = claim
        return true
    }

    /// The user's claim.
    public func pendingClaim(userID: Int64) throws -> PendingClaim? {
        try check()
        return pendingClaims[userID]
    }
}
