import Foundation
import LatchkeyCore

/// What an account does with itself: its sessions, its password, its address and its activity.
extension InMemoryStore {
    /// The user's live sessions, newest first.
    public func listSessions(userID: Int64, now: Date, idleCutoff: Date) throws -> [Session] {
        try check()
        return sessions.values.filter { $0.userID == userID && $0.expiresAt > now && $0.lastSeenAt > idleCutoff }
            .sorted { ($0.createdAt, $0.publicID) > ($1.createdAt, $1.publicID) }
    }

    /// Removes one live session of the user by its public identifier.
    public func deleteSession(userID: Int64, publicID: String, now: Date, idleCutoff: Date) throws -> Bool {
        try check()
        guard
            let digest = sessions.first(where: {
                $0.value.userID == userID && $0.value.publicID.utf8.elementsEqual(publicID.utf8)
                    && $0.value.expiresAt > now && $0.value.lastSeenAt > idleCutoff
            })?.key
        else { return false }
        sessions.removeValue(forKey: digest)
        return true
    }

    /// Removes the user's live sessions but one.
    public func deleteSessions(userID: Int64, except digest: TokenDigest, now: Date, idleCutoff: Date) throws -> Int {
        try check()
        let doomed = sessions.filter {
            $0.value.userID == userID && $0.key != digest && $0.value.expiresAt > now
                && $0.value.lastSeenAt > idleCutoff
        }.map(\.key)
        for key in doomed { sessions.removeValue(forKey: key) }
        return doomed.count
    }

    /// Changes the hash, ends the other sessions and re-keys the current one, all at once.
    public func changePassword(
        userID: Int64, from old: String, to new: String, keeping current: TokenDigest, as replacement: TokenDigest
    ) throws -> Bool {
        try check()
        try StoreError.checkText(new)
        guard users[userID]?.passwordHash == old, var session = sessions[current], session.userID == userID else {
            return false
        }
        users[userID]?.passwordHash = new
        sessions = sessions.filter { $0.value.userID != userID }
        resetTokens.removeValue(forKey: userID)
        verificationTokens.removeValue(forKey: userID)
        session.tokenDigest = replacement
        sessions[replacement] = session
        return true
    }

    /// Sets the user's verification state.
    public func setEmailVerified(userID: Int64, _ verified: Bool) throws -> Bool {
        try check()
        guard users[userID] != nil else { return false }
        users[userID]?.emailVerified = verified
        return true
    }

    /// Stores the user's verification token, replacing an earlier one.
    public func setVerificationToken(_ token: VerificationToken) throws {
        try check()
        try StoreError.checkText(token.email)
        guard users[token.userID] != nil else { throw StoreError.notFound }
        verificationTokens[token.userID] = token
    }

    /// Finds a verification token by its digest.
    public func findVerificationToken(digest: TokenDigest) throws -> VerificationToken? {
        try check()
        return verificationTokens.values.first { $0.tokenDigest == digest }
    }

    /// Uses a verification token, all at once.
    public func consumeVerificationToken(_ token: VerificationToken, now: Date) throws -> VerificationResult {
        try check()
        guard let stored = verificationTokens[token.userID], stored.tokenDigest == token.tokenDigest,
            stored.email.utf8.elementsEqual(token.email.utf8), stored.expiresAt > now, let user = users[token.userID]
        else { return .invalid }
        guard !user.email.utf8.elementsEqual(token.email.utf8) else {
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
        return .changed(from: user.email)
    }

    /// Records an activity entry; `StoreError.notFound` when the user is gone.
    public func addActivity(_ event: ActivityEvent) throws {
        try check()
        guard users[event.userID] != nil else { throw StoreError.notFound }
        activity.append(event)
    }

    /// The user's newest activity first.
    public func listActivity(userID: Int64, limit: Int) throws -> [ActivityEvent] {
        try check()
        return Array(
            activity.filter { $0.userID == userID }.reversed().stableSorted { $0.at > $1.at }.prefix(max(0, limit)))
    }

    /// Removes activity at or before `before`.
    public func purgeActivity(before: Date) throws -> Int {
        try check()
        let count = activity.count
        activity.removeAll { $0.at <= before }
        return count - activity.count
    }
}

extension Array {
    /// Sorted by `areInIncreasingOrder`, elements that compare equal kept in their order.
    fileprivate func stableSorted(by areInIncreasingOrder: (Element, Element) -> Bool) -> [Element] {
        enumerated().sorted { left, right in
            areInIncreasingOrder(left.element, right.element)
                || (!areInIncreasingOrder(right.element, left.element) && left.offset < right.offset)
        }.map(\.element)
    }
}
