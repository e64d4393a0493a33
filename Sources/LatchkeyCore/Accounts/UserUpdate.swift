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
