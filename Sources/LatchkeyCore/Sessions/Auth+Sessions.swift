import Foundation

extension Auth {
    /// Starts a session for a login that was just verified. When the account then holds more
    /// than `policy.sessionsPerUserMax` sessions, its least recently used ones end. The account's
    /// activity records `login_succeeded`.
    /// - Parameters:
    ///   - login: What `validLogin(email:password:)` returned.
    ///   - origin: The client's address and agent, recorded with the session (default: unknown).
    /// - Returns: The session token for the cookie; the store keeps only its digest.
    /// - Throws: `secondStepRequired` for a login that still needs a code
    ///   (`VerifiedLogin.secondStepRequired`); `invalidCredentials` when the password changed
    ///   since the login was checked; `storageUnavailable`.
    public func createSession(for login: VerifiedLogin, origin: SessionOrigin = SessionOrigin()) async throws -> String
    {
        guard !login.secondStepRequired else { throw AuthError.secondStepRequired }
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
        // The activity entry goes in the session's own transaction: one write, not two.
        let event = ActivityEvent(userID: login.id, kind: .loginSucceeded, at: now, origin: origin)
        let insert = try await storage {
            try await store.addSession(
                session, ifPasswordHash: login.passwordHash, keepingAtMost: limit, recording: event)
        }
        guard insert.stored else { throw AuthError.invalidCredentials }
        metrics.sessionsCreated.increment()
        if !insert.activityRecorded {
            logger.warning("could not record account activity", metadata: ["type": "\(event.kind.rawValue)"])
        }
        return token
    }

    /// Resolves a session token (a cookie's value) to the session it names: the one way to make
    /// an `AuthenticatedSession`, which every rule of a signed-in account takes, so that a request
    /// reads its session once. Refreshes the session's last-seen time at most once per
    /// `sessionTouchInterval`.
    /// - Parameter token: The session token from the cookie.
    /// - Returns: The live session, its user and assurance level.
    /// - Throws: `invalidSession` when the token is malformed, unknown, or names a session past
    ///   its absolute or idle expiry (NIST SP 800-63B section 7.1); `storageUnavailable`.
    public func authenticatedSession(token: String) async throws -> AuthenticatedSession {
        try await liveSession(token)
    }

    /// Ends the session, and only that one, and records `logged_out`.
    /// - Parameters:
    ///   - live: The session, from `authenticatedSession(token:)`.
    ///   - origin: The client's address and agent, for the account's activity.
    /// - Throws: `invalidSession` when it ended meanwhile; `storageUnavailable`.
    public func destroySession(_ live: AuthenticatedSession, origin: SessionOrigin = SessionOrigin()) async throws {
        let digest = live.digest
        guard try await storage({ try await store.deleteSession(digest: digest) }) else {
            throw AuthError.invalidSession
        }
        metrics.sessionsEndedByLogout.increment()
        await record(.loggedOut, userID: live.user.id, origin: origin)
    }

    /// Looks up a live session: the token's shape, its digest, then absolute and idle expiry.
    func liveSession(_ token: String) async throws -> AuthenticatedSession {
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
        return AuthenticatedSession(token: token, digest: digest, session: session, user: user)
    }

    /// The least time between two last-seen refreshes: the policy's interval, but never more
    /// than half the idle timeout, so that a session in use cannot idle out between refreshes.
    var touchInterval: TimeInterval {
        TimeInterval(min(policy.sessionTouchInterval, policy.sessionIdleTimeout / 2))
    }
}

/// A live session, resolved from its token by `Auth.authenticatedSession(token:)`: only Core
/// makes one, and every rule of a signed-in account takes one, so that a request looks its
/// session up once. Callers see its user and assurance level; the token, its digest and the
/// stored session stay inside Core.
public struct AuthenticatedSession: Sendable {
    /// The token that named it.
    let token: String
    /// The digest of that token, the session's key in the store.
    let digest: TokenDigest
    /// The session as stored (its address and agent are not read).
    let session: Session
    /// Its owner: id and normalised email.
    public let user: SessionUser

    /// The assurance level the session was made at: 1 (a password) or 2 (a password and a second
    /// factor; NIST SP 800-63B section 4.2).
    public var aal: Int { session.aal }
}
