import Foundation

/// A session just made or renewed: what a surface needs to answer with its cookie.
public struct SessionGrant: Sendable, Equatable {
    /// The session token for the cookie (32 random bytes, base64url); the store keeps its SHA-256.
    public let token: String
    /// The account's normalised email address.
    public let email: String
    /// How long the browser keeps the cookie, in whole seconds (its `Max-Age`): the session's
    /// remaining absolute lifetime.
    public let maxAge: Int

    /// A grant whose cookie lives `maxAge` seconds.
    /// - Parameters:
    ///   - token: The session token.
    ///   - email: The account's normalised email.
    ///   - maxAge: The cookie's lifetime, in whole seconds.
    init(token: String, email: String, maxAge: Int) {
        self.token = token
        self.email = email
        self.maxAge = maxAge
    }

    /// A grant for a session that ends at `expiresAt`: the cookie lives until then.
    /// - Parameters:
    ///   - token: The session token.
    ///   - email: The account's normalised email.
    ///   - expiresAt: The session's absolute end.
    ///   - now: The current time.
    init(token: String, email: String, expiresAt: Date, now: Date) {
        self.init(token: token, email: email, maxAge: max(0, Int(expiresAt.timeIntervalSince(now).rounded(.down))))
    }
}

/// What a login's first step (`Auth.logIn(email:password:code:origin:)`) ends in.
public enum LoginOutcome: Sendable, Equatable {
    /// The session is made.
    case loggedIn(SessionGrant)
    /// The password was right, and the account has an active second factor but no code came with
    /// it: `challenge` (32 random bytes, base64url, valid for `AuthPolicy.loginChallengeLifetime`
    /// seconds) and a code complete the login through `Auth.continueLogIn(challenge:code:origin:)`.
    case secondStepRequired(challenge: String)
}
