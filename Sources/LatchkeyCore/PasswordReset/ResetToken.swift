import Foundation

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
