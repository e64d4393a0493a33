import Foundation

/// A session as its owner sees it in the account's session list: never its token or digest.
public struct AccountSession: Sendable, Equatable {
    /// The public identifier (`Session.publicID`), which ends it.
    public let id: String
    /// When it was created.
    public let createdAt: Date
    /// When it was last used (refreshed at most once a minute).
    public let lastSeenAt: Date
    /// Its absolute end.
    public let expiresAt: Date
    /// The client's address when it was created; `nil` when unknown.
    public let ip: String?
    /// The client's agent when it was created; `nil` when unknown.
    public let userAgent: String?
    /// Whether it is the session asking.
    public let current: Bool
    /// How it was made: 1 (a password) or 2 (a password and a second factor).
    public let aal: Int

    /// A stored session as its owner sees it.
    init(_ session: Session, current: Bool) {
        self.id = session.publicID
        self.createdAt = session.createdAt
        self.lastSeenAt = session.lastSeenAt
        self.expiresAt = session.expiresAt
        self.ip = session.ip
        self.userAgent = session.userAgent
        self.current = current
        self.aal = session.aal
    }
}

/// The account's own routes: everything here needs a live session, and what changes or ends
/// something asks for the password again (OWASP ASVS 5.0 6.2.2, 6.2.3 and 7.5.2).
extension Auth {
    /// The account behind a live session.
    /// - Parameter live: The authenticated session (`authenticatedSession(token:)`).
    /// - Returns: The account: id, email, registration time, verification, second factor.
    /// - Throws: `invalidSession`; `storageUnavailable`.
    public func account(session live: AuthenticatedSession) async throws -> Account {
        let user = try await currentUser(live)
        guard user.secondFactorEnabled else { return Account(user) }
        let left = try await storage { try await store.secondFactor(userID: user.id) }?.recoveryCodesLeft ?? 0
        return Account(user, recoveryCodesLeft: left)
    }

    /// What the account's own page shows, read together (in one transaction where the store
    /// can): the account (`account(session:)`), its live sessions (`sessions(session:)`) and its
    /// newest activity.
    /// - Parameters:
    ///   - live: The authenticated session (`authenticatedSession(token:)`).
    ///   - activityLimit: The most activity entries returned, at most `activityShown`.
    /// - Returns: The overview.
    /// - Throws: `invalidSession` when the account is gone; `storageUnavailable`.
    public func accountOverview(
        session live: AuthenticatedSession, activityLimit: Int = activityShown
    ) async throws -> AccountOverview {
        let (now, idleCutoff) = liveWindow()
        let limit = min(max(0, activityLimit), Self.activityShown)
        guard
            let record = try await storage({
                try await store.accountOverview(
                    userID: live.user.id, now: now, idleCutoff: idleCutoff, activityLimit: limit)
            })
        else { throw AuthError.invalidSession }
        return AccountOverview(
            account: Account(record.user, recoveryCodesLeft: record.secondFactor?.recoveryCodesLeft ?? 0),
            sessions: record.sessions.map { AccountSession($0, current: $0.tokenDigest == live.digest) },
            activity: record.activity)
    }

    /// Changes the password from a live session, after checking the current one: every other
    /// session of the account ends, its pending reset token is dropped, and this session gets a
    /// new token (keeping its identifier, creation time and expiry); the owner is notified.
    /// - Parameters:
    ///   - live: The authenticated session (`authenticatedSession(token:)`).
    ///   - currentPassword: The current password, as sent.
    ///   - newPassword: The new password, as sent; it must pass the policy, as at registration.
    ///   - code: A one-time or recovery code, needed once a second factor is active.
    ///   - origin: The client's address and agent, for the notice.
    /// - Returns: The session under its new token, with its remaining lifetime.
    /// - Throws: `invalidSession`; `invalidPassword` when the new password breaks the policy
    ///   (before any hashing); `throttled` (429) while the login throttle waits; `wrongPassword`
    ///   (counted by the login throttle); `secondStepRequired`, `wrongCode` (with a second factor); `overloaded`; `invalidSession` when a reset or another
    ///   change ended or re-keyed this session meanwhile; `accountChanged` when the stored hash
    ///   changed meanwhile while the session stayed (a login replacing an older hash);
    ///   `storageUnavailable`.
    public func changePassword(
        session live: AuthenticatedSession, currentPassword: String, newPassword: String, code: String? = nil,
        origin: SessionOrigin
    ) async throws -> SessionGrant {
        let password = try Validation.checkPassword(
            newPassword, minimumLength: policy.passwordMinLength, field: "new_password")
        let user = try await reauthenticate(live, password: currentPassword, code: code, origin: origin)
        let newHash = try await hashing { try await hasher.hash(password) }
        let newToken = SecretToken.generate()
        let messages = try await outboxMessages(
            [.passwordChanged(email: user.email, at: clock(), ip: origin.ip, userAgent: origin.userAgent)],
            userID: user.id, languages: origin.languages)
        let changed = try await committingChange(messages) {
            try await store.changePassword(
                userID: user.id, from: user.passwordHash, to: newHash, keeping: live.digest,
                as: TokenDigest(of: newToken), revoking: .passwordChange, messages: messages)
        }
        guard changed else {
            // A reset ended this session meanwhile, or another change replaced the hash.
            _ = try await liveSession(live.token)
            throw AuthError.accountChanged
        }
        let now = clock()
        await record(.passwordChanged, userID: user.id, origin: origin)
        return SessionGrant(token: newToken, email: user.email, expiresAt: live.session.expiresAt, now: now)
    }

    /// The account's live sessions, newest first.
    /// - Parameter live: The authenticated session (`authenticatedSession(token:)`).
    /// - Returns: The sessions, the asking one marked `current`.
    /// - Throws: `invalidSession`; `storageUnavailable`.
    public func sessions(session live: AuthenticatedSession) async throws -> [AccountSession] {
        let (now, idleCutoff) = liveWindow()
        let sessions = try await storage {
            try await store.listSessions(userID: live.user.id, now: now, idleCutoff: idleCutoff)
        }
        return sessions.map { AccountSession($0, current: $0.tokenDigest == live.digest) }
    }

    /// Ends one live session of the account, after checking the password.
    /// - Parameters:
    ///   - id: The session's public identifier.
    ///   - live: The authenticated session (`authenticatedSession(token:)`).
    ///   - password: The account's password, as sent.
    ///   - code: A one-time or recovery code, needed once a second factor is active.
    ///   - origin: The client's address and agent, for the account's activity.
    /// - Returns: Whether the ended session was the asking one (its cookie is then cleared).
    /// - Throws: `invalidSession`; `sessionNotFound` when the identifier, malformed (before any
    ///   hashing) or not, names no live session of the account; `throttled`; `wrongPassword`;
    ///   `secondStepRequired`, `wrongCode` (with a second factor); `overloaded`; `storageUnavailable`.
    public func endSession(
        id: String, session live: AuthenticatedSession, password: String, code: String? = nil,
        origin: SessionOrigin = SessionOrigin()
    ) async throws -> Bool {
        guard Session.isWellFormedPublicID(id) else { throw AuthError.sessionNotFound }
        let user = try await reauthenticate(live, password: password, code: code, origin: origin)
        if id.utf8.elementsEqual(live.session.publicID.utf8) {
            guard try await storage({ try await store.deleteSession(digest: live.digest) }) else {
                throw AuthError.sessionNotFound
            }
            metrics.sessionsEndedByLogout.increment()
            await record(.sessionRevoked, userID: user.id, origin: origin)
            return true
        }
        let (now, idleCutoff) = liveWindow()
        guard
            try await storage({
                try await store.deleteSession(userID: user.id, publicID: id, now: now, idleCutoff: idleCutoff)
            })
        else { throw AuthError.sessionNotFound }
        metrics.sessionsEndedByLogout.increment()
        await record(.sessionRevoked, userID: user.id, origin: origin)
        return false
    }

    /// Ends every live session of the account but the asking one, after checking the password.
    /// - Parameters:
    ///   - live: The authenticated session (`authenticatedSession(token:)`).
    ///   - password: The account's password, as sent.
    ///   - code: A one-time or recovery code, needed once a second factor is active.
    ///   - origin: The client's address and agent, for the account's activity.
    /// - Returns: How many sessions ended.
    /// - Throws: `invalidSession`; `throttled`; `wrongPassword`; `secondStepRequired`,
    ///   `wrongCode` (with a second factor); `overloaded`; `storageUnavailable`.
    public func endOtherSessions(
        session live: AuthenticatedSession, password: String, code: String? = nil,
        origin: SessionOrigin = SessionOrigin()
    ) async throws -> Int {
        let user = try await reauthenticate(live, password: password, code: code, origin: origin)
        let (now, idleCutoff) = liveWindow()
        let ended = try await storage {
            try await store.deleteSessions(userID: user.id, except: live.digest, now: now, idleCutoff: idleCutoff)
        }
        metrics.sessionsEndedByLogout.increment(by: ended)
        await record(.sessionsRevoked, userID: user.id, origin: origin)
        return ended
    }

    /// Deletes the account after checking the password: the user, every session, the reset
    /// token and the throttle records of its address are erased, the owner is notified, and
    /// the address can register again.
    /// - Parameters:
    ///   - live: The authenticated session (`authenticatedSession(token:)`).
    ///   - password: The account's password, as sent.
    ///   - code: A one-time or recovery code, needed once a second factor is active.
    ///   - origin: The client's address and agent, for the account's activity.
    /// - Throws: `invalidSession`; `throttled`; `wrongPassword`; `secondStepRequired`,
    ///   `wrongCode` (with a second factor); `overloaded`; `storageUnavailable`.
    public func deleteAccount(
        session live: AuthenticatedSession, password: String, code: String? = nil,
        origin: SessionOrigin = SessionOrigin()
    ) async throws {
        let user = try await reauthenticate(live, password: password, code: code, origin: origin)
        let messages = try await outboxMessages(
            [.accountDeleted(email: user.email, at: clock())], userID: user.id, languages: origin.languages)
        guard try await committingChange(messages, { try await store.deleteUser(id: user.id, messages: messages) })
        else {
            throw AuthError.invalidSession
        }
        // The account is gone whatever follows: a throttle record left behind only ages out.
        for scope in ThrottleScope.allCases {
            let subject = scope == .secondFactor ? String(user.id) : user.email
            do {
                _ = try await store.updateThrottleRecord(ThrottleKey(scope, subject)) { _ in nil }
            } catch {
                logger.warning("could not erase a deleted account's throttle record", metadata: ["error": "\(error)"])
            }
        }
    }

    /// Checks the account's password again for a route that has a live session, counted by the
    /// login throttle under the account's address, as a login is; a wrong one is recorded in the
    /// account's activity as `login_failed`. With an active second factor a code is checked too
    /// (OWASP ASVS 5.0 7.5.1: full re-authentication), counted by the second-factor throttle.
    /// - Returns: The account as stored, with the hash the password matched.
    /// - Throws: `invalidInput` for a code of neither shape (`SecondFactorCode`), before the
    ///   password is checked; `invalidSession` when the account is gone; `throttled`;
    ///   `wrongPassword`; `secondStepRequired` without a code; `wrongCode`;
    ///   `secondFactorNotConfigured` when no key opens the factor; `overloaded`;
    ///   `storageUnavailable`.
    func reauthenticate(_ live: AuthenticatedSession, password: String, code: String?, origin: SessionOrigin)
        async throws
        -> User
    {
        try await reauthenticate(currentUser(live), password: password, code: code, origin: origin)
    }

    /// `reauthenticate(_:password:code:origin:)` for an account already read.
    func reauthenticate(_ user: User, password: String, code typed: String?, origin: SessionOrigin) async throws
        -> User
    {
        // The code's shape is decided before the password is checked, and never counted.
        let code = try SecondFactorCode.read(typed)
        let (matched, _) = try await checkPassword(
            password, of: user, throttleKey: ThrottleKey(.login, user.email), origin: origin)
        guard matched else { throw AuthError.wrongPassword }
        if user.secondFactorEnabled {
            guard let code else { throw AuthError.secondStepRequired }
            try await checkSecondFactor(code, of: SessionUser(user), origin: origin)
        }
        return user
    }

    /// The current time and the idle cutoff: sessions expiring or last seen at or before them
    /// are not live.
    func liveWindow() -> (now: Date, idleCutoff: Date) {
        let now = clock()
        return (now, now.addingTimeInterval(-TimeInterval(policy.sessionIdleTimeout)))
    }
}
