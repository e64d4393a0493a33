import Foundation

extension Auth {
    /// Starts a session for a login that was just verified. When the account then holds more
    /// than `policy.sessionsPerUserMax` sessions, its least recently used ones end. The account's
    /// activity records `login_succeeded`.
    /// - Parameters:
    ///   - login: What `validLogin(email:password:)` returned.
    ///   - origin: The client's address and agent, recorded with the session (default: unknown).
    /// - Returns: The session token for the cookie; the store keeps only its digest.
    /// - Throws: `secondFactorRequired` for a login that still needs a code
    ///   (`VerifiedLogin.secondFactorRequired`); `invalidCredentials` when the password changed
    ///   since the login was checked; `storageUnavailable`.
    public func createSession(for login: VerifiedLogin, origin: SessionOrigin = SessionOrigin()) async throws -> String
    {
        guard !login.secondFactorRequired else { throw AuthError.secondFactorRequired }
        let token = SecretToken.generate()
        let now = clock()
        let session = Session(
            tokenDigest: TokenDigest(of: token),
            userID: login.id,
            createdAt: now,
            lastSeenAt: now,
            expiresAt: now.addingTimeInterval(TimeInterval(policy.sessionLifetime)),
            origin: origin,
            aal: login.aal
        )
        let limit = policy.sessionsPerUserMax
        guard
            try await storage({
                try await store.addSession(session, ifPasswordHash: login.passwordHash, keepingAtMost: limit)
            })
        else {
            throw AuthError.invalidCredentials
        }
        metrics.sessionsCreated.increment()
        await record(.loginSucceeded, userID: login.id, origin: origin)
        return token
    }

    /// Finds the user behind a live session, refreshing its last-seen time at most once
    /// per `sessionTouchInterval`.
    /// - Parameter token: The session token from the cookie.
    /// - Returns: The session's user: its id and email.
    /// - Throws: `invalidSession` when the token is malformed, unknown or expired.
    public func user(forSessionToken token: String) async throws -> SessionUser {
        try await liveSession(token).user
    }

    /// Finds the user behind a live session and how the session was made, as
    /// `user(forSessionToken:)` does.
    /// - Parameter token: The session token from the cookie.
    /// - Returns: The session's user and its assurance level (1 or 2).
    /// - Throws: `invalidSession` when the token is malformed, unknown or expired.
    public func userAndAssurance(forSessionToken token: String) async throws -> (user: SessionUser, aal: Int) {
        let live = try await liveSession(token)
        return (live.user, live.session.aal)
    }

    /// Ends the session a token names, and only that one, and records `logged_out`.
    /// - Parameters:
    ///   - token: The session token from the cookie.
    ///   - origin: The client's address and agent, for the account's activity.
    /// - Throws: `invalidSession` when it names no live session.
    public func destroySession(token: String, origin: SessionOrigin = SessionOrigin()) async throws {
        let live = try await liveSession(token)
        let digest = live.digest
        guard try await storage({ try await store.deleteSession(digest: digest) }) else {
            throw AuthError.invalidSession
        }
        metrics.sessionsEndedByLogout.increment()
        await record(.loggedOut, userID: live.user.id, origin: origin)
    }

    /// Looks up a live session: the token's shape, its digest, then absolute and idle expiry.
    func liveSession(_ token: String) async throws -> LiveSession {
        // A malformed token costs no database round trip.
        guard SecretToken.isWellFormed(token) else { throw AuthError.invalidSession }
        let digest = TokenDigest(of: token)
        guard let (session, user) = try await storage({ try await store.findSession(digest: digest) }) else {
            throw AuthError.invalidSession
        }
        let now = clock()
        let idleDeadline = session.lastSeenAt.addingTimeInterval(TimeInterval(policy.sessionIdleTimeout))
        if session.expiresAt <= now || idleDeadline <= now {
            if (try? await store.deleteSession(digest: digest)) == true {
                metrics.sessionsEndedByExpiry.increment()
            }
            throw AuthError.invalidSession
        }
        if now.timeIntervalSince(session.lastSeenAt) >= touchInterval {
            do {
                try await store.touchSession(digest: digest, lastSeenAt: now)
            } catch {
                // A failed refresh only shortens the idle window; the read itself succeeded.
                logger.warning("could not refresh a session's last-seen time", metadata: ["error": "\(error)"])
            }
        }
        return LiveSession(digest: digest, session: session, user: user)
    }

    /// The least time between two last-seen refreshes: the policy's interval, but never more
    /// than half the idle timeout, so that a session in use cannot idle out between refreshes.
    var touchInterval: TimeInterval {
        TimeInterval(min(policy.sessionTouchInterval, policy.sessionIdleTimeout / 2))
    }
}

/// A session that `Auth.liveSession(_:)` found live, with its owner.
struct LiveSession: Sendable {
    /// The digest of the token that named it.
    let digest: TokenDigest
    /// The session as stored (its address and agent are not read).
    let session: Session
    /// Its owner.
    let user: SessionUser
}
