import Foundation
import LatchkeyCore

/// The second factor: the TOTP factor, recovery codes and the tokens of logins waiting for a
/// code. The actor runs one call at a time, so each is atomic as the databases' transactions are.
extension InMemoryStore {
    /// The user's factor, with the count of unused recovery codes.
    public func secondFactor(userID: Int64) throws -> SecondFactor? {
        try check()
        guard var factor = secondFactors[userID], factor.secret != nil || factor.pendingSecret != nil else {
            return nil
        }
        factor.recoveryCodesLeft = recoveryCodes[userID]?.count ?? 0
        return factor
    }

    /// Stores the pending secret unless a factor is active or the revision moved;
    /// `StoreError.notFound` when the user is gone.
    public func setPendingTOTPSecret(userID: Int64, sealed: Data, ifRevision revision: Int64?) throws -> Bool {
        try check()
        guard users[userID] != nil else { throw StoreError.notFound }
        guard secondFactors[userID]?.revision == revision else { return false }
        var factor =
            secondFactors[userID]
            ?? SecondFactor(userID: userID, secret: nil, pendingSecret: nil, lastStep: nil, recoveryCodesLeft: 0)
        guard factor.secret == nil else { return false }
        factor.pendingSecret = sealed
        factor.revision += 1
        secondFactors[userID] = factor
        return true
    }

    /// Activates the pending secret, replaces the codes, ends the other sessions and re-keys the
    /// current one at level 2, all at once.
    public func activateTOTP(
        userID: Int64, pending: Data, step: Int64, recoveryCodes codes: [Data], keeping current: TokenDigest,
        as replacement: TokenDigest, messages: [OutboxMessage]
    ) throws -> Bool {
        try check()
        guard var session = sessions[current], session.userID == userID, var factor = secondFactors[userID],
            factor.secret == nil, factor.pendingSecret == pending
        else { return false }
        factor.secret = pending
        factor.pendingSecret = nil
        factor.lastStep = step
        factor.revision += 1
        secondFactors[userID] = factor
        storeRecoveryCodes(userID: userID, digests: codes)
        loginChallenges = loginChallenges.filter { $0.value.userID != userID }
        sessions = sessions.filter { $0.value.userID != userID }
        session.tokenDigest = replacement
        session.aal = 2
        sessions[replacement] = session
        write(messages)
        return true
    }

    /// Re-keys the session at level 2 while it is the user's and the factor is active.
    public func stepUpSession(userID: Int64, keeping current: TokenDigest, as replacement: TokenDigest) throws
        -> Bool
    {
        try check()
        guard var session = sessions[current], session.userID == userID, secondFactors[userID]?.secret != nil else {
            return false
        }
        sessions[current] = nil
        session.tokenDigest = replacement
        session.aal = 2
        sessions[replacement] = session
        return true
    }

    /// Records the step while the secret is still `secret` and the step is new.
    public func acceptTOTPStep(userID: Int64, step: Int64, secret: Data, resealed: Data?) throws -> Bool {
        try check()
        guard var factor = secondFactors[userID], factor.secret == secret, factor.lastStep.map({ $0 < step }) ?? true
        else { return false }
        factor.lastStep = step
        if let resealed { factor.secret = resealed }
        secondFactors[userID] = factor
        return true
    }

    /// Removes the first stored code equal to one of `digests`; returns how many are left.
    public func consumeRecoveryCode(userID: Int64, digests: [Data], messages: [OutboxMessage]) throws -> Int? {
        try check()
        guard var codes = recoveryCodes[userID], let index = codes.firstIndex(where: digests.contains) else {
            return nil
        }
        codes.remove(at: index)
        recoveryCodes[userID] = codes
        write(messages)
        return codes.count
    }

    /// Replaces the codes while a factor is active at `revision`, and moves the revision on.
    public func replaceRecoveryCodes(userID: Int64, digests: [Data], ifRevision revision: Int64) throws -> Bool {
        try check()
        guard secondFactors[userID]?.isActive == true, secondFactors[userID]?.revision == revision else { return false }
        secondFactors[userID]?.revision += 1
        storeRecoveryCodes(userID: userID, digests: digests)
        return true
    }

    /// Removes the factor, the codes and the login tokens, and brings every session of the user to
    /// level 1; returns whether a factor was active.
    public func deleteSecondFactor(userID: Int64, ifRevision revision: Int64?, messages: [OutboxMessage]) throws
        -> Bool
    {
        try check()
        if let revision, secondFactors[userID]?.revision != revision { return false }
        let active = secondFactors[userID]?.isActive ?? false
        removeSecondFactor(userID: userID)
        if active { write(messages) }
        return active
    }

    /// Stores a login's token; `StoreError.notFound` when the user is gone.
    public func addLoginChallenge(_ token: LoginChallenge) throws {
        try check()
        try StoreError.checkText(token.passwordHash)
        guard users[token.userID] != nil else { throw StoreError.notFound }
        // The databases' primary key refuses a digest stored twice.
        guard loginChallenges[token.tokenDigest] == nil else { throw StoreError.unavailable("duplicate MFA token") }
        loginChallenges[token.tokenDigest] = token
    }

    /// Finds a login's token, expired or not.
    public func findLoginChallenge(digest: TokenDigest) throws -> LoginChallenge? {
        try check()
        return loginChallenges[digest]
    }

    /// Removes the expired tokens and returns them.
    public func takeExpiredLoginChallenges(now: Date) throws -> [LoginChallenge] {
        try check()
        let expired = loginChallenges.values.filter { $0.expiresAt <= now }
        for challenge in expired { loginChallenges.removeValue(forKey: challenge.tokenDigest) }
        return expired.sorted { $0.expiresAt < $1.expiresAt }
    }

    /// Removes a login's token; returns whether it was there.
    public func deleteLoginChallenge(digest: TokenDigest) throws -> Bool {
        try check()
        return loginChallenges.removeValue(forKey: digest) != nil
    }

    /// Up to `limit` active secrets.
    public func sampleTOTPSecrets(limit: Int) throws -> [(userID: Int64, secret: Data)] {
        try check()
        return Array(
            secondFactors.values.compactMap { factor in factor.secret.map { (userID: factor.userID, secret: $0) } }
                .prefix(max(0, limit)))
    }

    /// Replaces the user's codes; a digest given twice is stored once, as the databases' primary
    /// key keeps it.
    private func storeRecoveryCodes(userID: Int64, digests: [Data]) {
        var seen = Set<Data>()
        recoveryCodes[userID] = digests.filter { seen.insert($0).inserted }
    }

    /// Removes everything of a user's second factor.
    func removeSecondFactor(userID: Int64) {
        secondFactors.removeValue(forKey: userID)
        recoveryCodes.removeValue(forKey: userID)
        loginChallenges = loginChallenges.filter { $0.value.userID != userID }
        for (digest, session) in sessions where session.userID == userID {
            sessions[digest]?.aal = 1
        }
    }
}
