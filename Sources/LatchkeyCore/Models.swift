import Foundation

/// A registered person: the original service's `User` model.
public struct User: Sendable, Equatable {
    /// The store's identifier for the user.
    public var id: Int64
    /// The normalised (trimmed, lower-cased) email address.
    public var email: String
    /// The bcrypt hash of the user's password.
    public var passwordHash: String
    /// When the user registered.
    public var createdAt: Date

    /// Creates a user value.
    /// - Parameters:
    ///   - id: The store's identifier.
    ///   - email: The normalised email address.
    ///   - passwordHash: The bcrypt hash of the password.
    ///   - createdAt: When the user registered.
    public init(id: Int64, email: String, passwordHash: String, createdAt: Date) {
        self.id = id
        self.email = email
        self.passwordHash = passwordHash
        self.createdAt = createdAt
    }
}

/// The user a session belongs to, as a session check sees it: who, and no password hash.
public struct SessionUser: Sendable, Equatable {
    /// The store's identifier for the user.
    public var id: Int64
    /// The normalised email address.
    public var email: String

    /// Creates a session's user.
    /// - Parameters:
    ///   - id: The store's identifier.
    ///   - email: The normalised email address.
    public init(id: Int64, email: String) {
        self.id = id
        self.email = email
    }

    /// The session's view of a user.
    /// - Parameter user: The user.
    public init(_ user: User) {
        self.init(id: user.id, email: user.email)
    }
}

/// A logged-in session. The store knows it only by the SHA-256 of its token.
public struct Session: Sendable, Equatable {
    /// The SHA-256 of the token the client holds in its cookie.
    public var tokenDigest: TokenDigest
    /// The user the session belongs to.
    public var userID: Int64
    /// When the session was created.
    public var createdAt: Date
    /// When the session was last used (refreshed at most once a minute).
    public var lastSeenAt: Date
    /// The absolute end of the session, whatever its use.
    public var expiresAt: Date

    /// Creates a session value.
    /// - Parameters:
    ///   - tokenDigest: The SHA-256 of the session token.
    ///   - userID: The owner of the session.
    ///   - createdAt: When the session was created.
    ///   - lastSeenAt: When the session was last used.
    ///   - expiresAt: The absolute end of the session.
    public init(tokenDigest: TokenDigest, userID: Int64, createdAt: Date, lastSeenAt: Date, expiresAt: Date) {
        self.tokenDigest = tokenDigest
        self.userID = userID
        self.createdAt = createdAt
        self.lastSeenAt = lastSeenAt
        self.expiresAt = expiresAt
    }
}

/// A pending password reset for one user. The store keeps only the token's SHA-256.
public struct ResetToken: Sendable, Equatable {
    /// The user the token was issued to (and so the email it is bound to).
    public var userID: Int64
    /// The SHA-256 of the token that was handed out.
    public var tokenDigest: TokenDigest
    /// When the token was issued.
    public var createdAt: Date
    /// When the token stops being accepted.
    public var expiresAt: Date

    /// Creates a reset token value.
    /// - Parameters:
    ///   - userID: The owner of the token.
    ///   - tokenDigest: The SHA-256 of the token.
    ///   - createdAt: When the token was issued.
    ///   - expiresAt: When the token stops being accepted.
    public init(userID: Int64, tokenDigest: TokenDigest, createdAt: Date, expiresAt: Date) {
        self.userID = userID
        self.tokenDigest = tokenDigest
        self.createdAt = createdAt
        self.expiresAt = expiresAt
    }
}

/// A user as an operator lists it: no secrets.
public struct UserSummary: Sendable, Equatable {
    /// The user's id.
    public var id: Int64
    /// The normalised email.
    public var email: String
    /// When the user registered.
    public var createdAt: Date
    /// Sessions neither expired nor idle.
    public var liveSessions: Int

    /// Creates a summary.
    /// - Parameters:
    ///   - id: The user's id.
    ///   - email: The normalised email.
    ///   - createdAt: When the user registered.
    ///   - liveSessions: Sessions neither expired nor idle.
    public init(id: Int64, email: String, createdAt: Date, liveSessions: Int) {
        self.id = id
        self.email = email
        self.createdAt = createdAt
        self.liveSessions = liveSessions
    }
}

/// A user to add in bulk (an import), with a hash made elsewhere.
public struct NewUser: Sendable, Equatable {
    /// The normalised email.
    public var email: String
    /// A bcrypt hash.
    public var passwordHash: String
    /// When the user registered.
    public var createdAt: Date

    /// Creates a new user.
    /// - Parameters:
    ///   - email: The normalised email.
    ///   - passwordHash: A bcrypt hash.
    ///   - createdAt: When the user registered.
    public init(email: String, passwordHash: String, createdAt: Date) {
        self.email = email
        self.passwordHash = passwordHash
        self.createdAt = createdAt
    }
}
