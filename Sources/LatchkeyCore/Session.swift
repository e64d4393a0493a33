import Foundation

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
