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
    /// Whether the address was proven by a verification token or a password reset.
    public var emailVerified: Bool
    /// Whether a second factor (TOTP) is active: a login then needs a code as well.
    public var secondFactorEnabled: Bool

    /// Creates a user value.
    /// - Parameters:
    ///   - id: The store's identifier.
    ///   - email: The normalised email address.
    ///   - passwordHash: The bcrypt hash of the password.
    ///   - createdAt: When the user registered.
    ///   - emailVerified: Whether the address is verified (default: not yet).
    ///   - secondFactorEnabled: Whether a second factor is active (default: not).
    public init(
        id: Int64, email: String, passwordHash: String, createdAt: Date, emailVerified: Bool = false,
        secondFactorEnabled: Bool = false
    ) {
        self.id = id
        self.email = email
        self.passwordHash = passwordHash
        self.createdAt = createdAt
        self.emailVerified = emailVerified
        self.secondFactorEnabled = secondFactorEnabled
    }
}
