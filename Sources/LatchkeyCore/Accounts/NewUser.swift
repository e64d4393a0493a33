import Foundation

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
