import Foundation
import LatchkeyCore

extension InMemoryStore {
    /// Lists users by email.
    public func listUsers(after: String?, limit: Int, now: Date, idleCutoff: Date) throws -> [UserSummary] {
        try check()
        if let after, after.utf8.contains(0) { return [] }
        return users.values.filter { after == nil || $0.email > after! }.sorted { $0.email < $1.email }.prefix(limit)
            .map { user in
                let live = sessions.values.filter {
                    $0.userID == user.id && $0.expiresAt > now && $0.lastSeenAt > idleCutoff
                }.count
                return UserSummary(
                    id: user.id, email: user.email, createdAt: user.createdAt, liveSessions: live,
                    emailVerified: user.emailVerified, secondFactorEnabled: secondFactors[user.id]?.isActive ?? false)
            }
    }

    /// Deletes a user with their sessions, tokens, activity, second factor and pending token
    /// messages, and writes `messages`.
    public func deleteUser(id: Int64, messages: [OutboxMessage]) throws -> Bool {
        try check()
        guard let user = users.removeValue(forKey: id) else { return false }
        userIDsByEmail.removeValue(forKey: Array(user.email.utf8))
        sessions = sessions.filter { $0.value.userID != id }
        resetTokens.removeValue(forKey: id)
        conflicts.removeValue(forKey: id)
        activity.removeAll { $0.userID == id }
        verificationTokens.removeValue(forKey: id)
        pendingClaims.removeValue(forKey: id)
        removeSecondFactor(userID: id)
        dropTokenMessages(userID: id)
        write(messages)
        return true
    }

    /// Whether accounts sharing a canonical address are listed as conflicts.
    public func hasEmailConflict(canonical: String) throws -> Bool {
        try check()
        return conflicts.values.contains { $0.canonical?.utf8.elementsEqual(canonical.utf8) == true }
    }

    /// Whether an account is listed as a conflict.
    public func hasEmailConflict(userID: Int64) throws -> Bool {
        try check()
        return conflicts[userID] != nil
    }

    /// The listed conflicts, by canonical form then id.
    public func emailConflicts() throws -> [EmailConflict] {
        try check()
        return conflicts.values.sorted { ($0.canonical ?? "", $0.userID) < ($1.canonical ?? "", $1.userID) }
    }

    /// Renames an account and takes it off the conflicts.
    public func renameUser(id: Int64, email: String) throws -> Bool {
        try check()
        try StoreError.checkText(email)
        guard var user = users[id] else { return false }
        if let other = userIDsByEmail[Array(email.utf8)], other != id { throw StoreError.duplicateEmail }
        userIDsByEmail.removeValue(forKey: Array(user.email.utf8))
        user.email = email
        user.emailVerified = false
        users[id] = user
        userIDsByEmail[Array(email.utf8)] = id
        conflicts.removeValue(forKey: id)
        verificationTokens.removeValue(forKey: id)
        pendingClaims.removeValue(forKey: id)
        return true
    }

    /// Applies the canonical-address data step, as the SQLite and PostgreSQL stores' migration
    /// `v4-canonical-emails` does.
    /// - Returns: The plan applied.
    @discardableResult
    public func canonicaliseEmails() throws -> EmailCanonicalisation.Plan {
        try check()
        let plan = EmailCanonicalisation.plan(users.values.map { ($0.id, $0.email) })
        for update in plan.updates {
            _ = try renameUser(id: update.userID, email: update.email)
        }
        for conflict in plan.conflicts {
            conflicts[conflict.userID] = conflict
        }
        return plan
    }

    /// Adds many users at once; taken emails are skipped.
    public func addUsers(_ newUsers: [NewUser]) throws -> [Bool] {
        try check()
        for user in newUsers { try StoreError.checkText(user.email, user.passwordHash) }
        return newUsers.map { new in
            guard userIDsByEmail[Array(new.email.utf8)] == nil else { return false }
            let user = User(id: nextID, email: new.email, passwordHash: new.passwordHash, createdAt: new.createdAt)
            nextID += 1
            users[user.id] = user
            userIDsByEmail[Array(new.email.utf8)] = user.id
            return true
        }
    }

    /// Adds many sessions at once.
    public func addSessions(_ newSessions: [Session]) throws {
        try check()
        guard newSessions.allSatisfy({ users[$0.userID] != nil }) else { throw StoreError.notFound }
        for session in newSessions { sessions[session.tokenDigest] = session }
    }
}
