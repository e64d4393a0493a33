import Foundation
import LatchkeyCore

/// A store in memory, for fast tests of the rules. It behaves as the contract suite
/// requires of every store, unique email included.
public actor InMemoryStore: AdminStore {
    var users: [Int64: User] = [:]
    /// By the address's UTF-8 bytes: the databases compare bytes, and Swift's `String` equality
    /// would make an NFD address equal to its NFC form.
    var userIDsByEmail: [[UInt8]: Int64] = [:]
    var sessions: [TokenDigest: Session] = [:]
    var resetTokens: [Int64: ResetToken] = [:]
    private var throttles: [ThrottleKey: ThrottleRecord] = [:]
    private var nextID: Int64 = 1
    var conflicts: [Int64: EmailConflict] = [:]
    /// Every user's activity, oldest first.
    var activity: [ActivityEvent] = []
    var verificationTokens: [Int64: VerificationToken] = [:]
    /// Each user's factor; its `recoveryCodesLeft` is not kept here (`recoveryCodes` counts).
    var mfaFactors: [Int64: MFAFactor] = [:]
    /// Each user's unused recovery codes' digests, in the order stored.
    var recoveryCodes: [Int64: [Data]] = [:]
    var mfaTokens: [TokenDigest: MFAToken] = [:]
    /// When set, every call fails with `StoreError.unavailable`, to test outage handling.
    public private(set) var failing = false

    /// Creates an empty store.
    public init() {}

    /// Makes every later call fail, or succeed again.
    /// - Parameter failing: Whether calls fail.
    public func setFailing(_ failing: Bool) {
        self.failing = failing
    }

    /// The number of sessions stored, live or not.
    public var sessionCount: Int { sessions.count }

    /// The number of reset tokens stored.
    public var resetTokenCount: Int { resetTokens.count }

    /// The number of throttle records stored, of every scope.
    public var throttleRecordCount: Int { throttles.count }

    /// The number of activity entries stored, of every account.
    public var activityCount: Int { activity.count }

    /// Fails a call while the store is set to fail, and, as the real stores do, a call made by
    /// a cancelled task (its request's client went).
    func check() throws {
        if failing { throw StoreError.unavailable("in-memory store set to fail") }
        if Task.isCancelled { throw StoreError.unavailable("the calling task is cancelled") }
    }

    /// Adds a user; a taken email is `StoreError.duplicateEmail`, as with the unique index.
    public func addUser(email: String, passwordHash: String, createdAt: Date) throws -> User {
        try check()
        try StoreError.checkText(email, passwordHash)
        guard userIDsByEmail[Array(email.utf8)] == nil else { throw StoreError.duplicateEmail }
        let user = User(id: nextID, email: email, passwordHash: passwordHash, createdAt: createdAt)
        nextID += 1
        users[user.id] = user
        userIDsByEmail[Array(email.utf8)] = user.id
        return user
    }

    /// Finds a user by id or email, with whether a second factor is active.
    public func findUser(by lookup: UserLookup) throws -> User? {
        try check()
        let id: Int64?
        switch lookup {
        case .id(let key):
            id = key
        case .email(let email):
            id = userIDsByEmail[Array(email.utf8)]
        }
        guard let id, var user = users[id] else { return nil }
        user.mfaEnabled = mfaFactors[id]?.isActive ?? false
        return user
    }

    /// Changes a user; `StoreError.notFound` when the id is unknown.
    public func updateUser(id: Int64, _ update: UserUpdate) throws {
        try check()
        if let hash = update.passwordHash { try StoreError.checkText(hash) }
        guard var user = users[id] else { throw StoreError.notFound }
        if let hash = update.passwordHash { user.passwordHash = hash }
        users[id] = user
    }

    /// Replaces the hash only while it is `old`.
    public func replacePasswordHash(userID: Int64, from old: String, to new: String) throws -> Bool {
        try check()
        try StoreError.checkText(new)
        guard users[userID]?.passwordHash == old else { return false }
        users[userID]?.passwordHash = new
        return true
    }

    /// Stores the session only while the user's password hash is `passwordHash`, then ends the
    /// user's least recently used sessions beyond `limit`.
    public func addSession(_ session: Session, ifPasswordHash passwordHash: String, keepingAtMost limit: Int) throws
        -> Bool
    {
        try check()
        guard users[session.userID]?.passwordHash == passwordHash else { return false }
        // An account with an active second factor gets sessions of level 2 only.
        guard session.aal >= 2 || mfaFactors[session.userID]?.isActive != true else { return false }
        let doomed = sessions.values.filter { $0.userID == session.userID }
            .sorted { ($0.lastSeenAt, $0.createdAt) > ($1.lastSeenAt, $1.createdAt) }
            .dropFirst(max(0, limit - 1)).map(\.tokenDigest)
        for key in doomed { sessions.removeValue(forKey: key) }
        sessions[session.tokenDigest] = session
        return true
    }

    /// Finds a session and its user.
    public func findSession(digest: TokenDigest) throws -> (session: Session, user: SessionUser)? {
        try check()
        guard var session = sessions[digest], let user = users[session.userID] else { return nil }
        // As the databases: the session check does not read the address and agent.
        session.ip = nil
        session.userAgent = nil
        return (session, SessionUser(user))
    }

    /// Records a session's last use.
    public func touchSession(digest: TokenDigest, lastSeenAt: Date) throws {
        try check()
        sessions[digest]?.lastSeenAt = lastSeenAt
    }

    /// Removes one session; returns whether there was one.
    public func deleteSession(digest: TokenDigest) throws -> Bool {
        try check()
        return sessions.removeValue(forKey: digest) != nil
    }

    /// Removes every session of a user; returns how many.
    public func deleteSessions(userID: Int64) throws -> Int {
        try check()
        let doomed = sessions.filter { $0.value.userID == userID }.map(\.key)
        for key in doomed { sessions.removeValue(forKey: key) }
        return doomed.count
    }

    /// Stores the user's reset token, replacing an earlier one.
    public func setResetToken(_ token: ResetToken) throws {
        try check()
        guard users[token.userID] != nil else { throw StoreError.notFound }
        resetTokens[token.userID] = token
    }

    /// Succeeds unless the store is set to fail.
    public func checkAvailable() throws {
        try check()
    }

    /// Finds the user's pending reset token.
    public func findResetToken(userID: Int64) throws -> ResetToken? {
        try check()
        return resetTokens[userID]
    }

    /// Consumes a valid token, changes the hash, drops the verification and second-factor login
    /// tokens and, when asked, ends the user's sessions, all at once.
    public func resetPassword(
        userID: Int64, digest: TokenDigest, passwordHash: String, now: Date, endingSessions: Bool
    ) throws -> Bool {
        try check()
        try StoreError.checkText(passwordHash)
        guard let token = resetTokens[userID], token.tokenDigest == digest, token.expiresAt > now,
            users[userID] != nil
        else { return false }
        resetTokens.removeValue(forKey: userID)
        verificationTokens.removeValue(forKey: userID)
        users[userID]?.passwordHash = passwordHash
        mfaTokens = mfaTokens.filter { $0.value.userID != userID }
        if endingSessions {
            _ = try deleteSessions(userID: userID)
        }
        return true
    }

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
                    emailVerified: user.emailVerified, mfaEnabled: mfaFactors[user.id]?.isActive ?? false)
            }
    }

    /// Deletes a user with their sessions, tokens, activity and second factor.
    public func deleteUser(id: Int64) throws -> Bool {
        try check()
        guard let user = users.removeValue(forKey: id) else { return false }
        userIDsByEmail.removeValue(forKey: Array(user.email.utf8))
        sessions = sessions.filter { $0.value.userID != id }
        resetTokens.removeValue(forKey: id)
        conflicts.removeValue(forKey: id)
        activity.removeAll { $0.userID == id }
        verificationTokens.removeValue(forKey: id)
        removeSecondFactor(userID: id)
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

    /// Reads a throttle record.
    public func throttleRecord(_ key: ThrottleKey) throws -> ThrottleRecord? {
        try check()
        return throttles[key]
    }

    /// Changes a throttle record; the actor runs one change at a time.
    public func updateThrottleRecord(
        _ key: ThrottleKey, _ update: @escaping @Sendable (ThrottleRecord?) -> ThrottleRecord?
    ) throws -> ThrottleRecord? {
        try check()
        try StoreError.checkText(key.subject)
        throttles[key] = update(throttles[key])
        return throttles[key]
    }

    /// Deletes quiet throttle records whose wait has ended.
    public func purgeThrottles(lastBefore: Date, now: Date) throws -> Int {
        try check()
        let doomed = throttles.filter { $0.value.lastAt <= lastBefore && ($0.value.lockedUntil ?? now) <= now }
        for key in doomed.keys { throttles.removeValue(forKey: key) }
        return doomed.count
    }

    /// Removes expired sessions, and expired reset, verification and second-factor login tokens.
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
        let doomedMFATokens = mfaTokens.filter { $0.value.expiresAt <= now }.map(\.key)
        for key in doomedMFATokens { mfaTokens.removeValue(forKey: key) }
        result.mfaTokens = doomedMFATokens.count
        return result
    }
}
