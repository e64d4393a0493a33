import Foundation

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
    /// Whether the address is verified.
    public var emailVerified: Bool
    /// Whether a second factor is active.
    public var secondFactorEnabled: Bool

    /// Creates a summary.
    /// - Parameters:
    ///   - id: The user's id.
    ///   - email: The normalised email.
    ///   - createdAt: When the user registered.
    ///   - liveSessions: Sessions neither expired nor idle.
    ///   - emailVerified: Whether the address is verified (default: not).
    ///   - secondFactorEnabled: Whether a second factor is active (default: not).
    public init(
        id: Int64, email: String, createdAt: Date, liveSessions: Int, emailVerified: Bool = false,
        secondFactorEnabled: Bool = false
    ) {
        self.id = id
        self.email = email
        self.createdAt = createdAt
        self.liveSessions = liveSessions
        self.emailVerified = emailVerified
        self.secondFactorEnabled = secondFactorEnabled
    }
}
