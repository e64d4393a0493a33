import Foundation

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

    /// The session's view of an account.
    /// - Parameter account: The account.
    public init(_ account: Account) {
        self.init(id: account.id, email: account.email)
    }
}
