import Foundation

/// A pending email verification, keyed by its user: the SHA-256 of the token and the address it
/// proves (the account's own, or the new one of an email change). A newer one replaces it.
public struct VerificationToken: Sendable, Equatable {
    /// The account.
    public var userID: Int64
    /// The canonical address the token is bound to.
    public var email: String
    /// The SHA-256 of the token sent to that address.
    public var tokenDigest: TokenDigest
    /// When it was issued.
    public var createdAt: Date
    /// When it stops being accepted.
    public var expiresAt: Date

    /// Creates a verification token record.
    /// - Parameters:
    ///   - userID: The account.
    ///   - email: The canonical address it proves.
    ///   - tokenDigest: The SHA-256 of the token.
    ///   - createdAt: When it was issued.
    ///   - expiresAt: When it stops being accepted.
    public init(userID: Int64, email: String, tokenDigest: TokenDigest, createdAt: Date, expiresAt: Date) {
        self.userID = userID
        self.email = email
        self.tokenDigest = tokenDigest
        self.createdAt = createdAt
        self.expiresAt = expiresAt
    }
}

/// What `AuthStore.consumeVerificationToken(_:now:)` did.
public enum VerificationResult: Sendable, Equatable {
    /// The token was the account's current one for its own address: the address is verified.
    case verified
    /// The token was for a new address: the account now has it, verified; `from` is the old one.
    case changed(from: String)
    /// The token was for a new address that another account took meanwhile: nothing changed,
    /// and the token stays.
    case taken
    /// The token is not the account's current one, or it expired: nothing changed.
    case invalid
}
