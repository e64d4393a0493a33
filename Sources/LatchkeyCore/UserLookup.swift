import Foundation

/// The typed key for finding one user: the original service's `find_user_by(**kwargs)`,
/// without the run-time error for an unknown column.
public enum UserLookup: Sendable, Equatable {
    /// By the store's identifier.
    case id(Int64)
    /// By the normalised email address.
    case email(String)
}

/// The changes `updateUser` can make to a user.
public struct UserUpdate: Sendable, Equatable {
    /// A new bcrypt hash for the password, when it changes.
    public var passwordHash: String?

    /// Creates an update.
    /// - Parameter passwordHash: A new password hash, or `nil` to keep the current one.
    public init(passwordHash: String? = nil) {
        self.passwordHash = passwordHash
    }
}
