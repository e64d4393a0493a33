import Foundation

/// An account as the layers above Core see it: who it is, never its password hash.
/// `Auth.registerUser(email:password:)` and `Auth.updatePassword(resetToken:email:newPassword:)`
/// return it.
public struct Account: Sendable, Equatable {
    /// The store's identifier for the account.
    public let id: Int64
    /// The normalised email address.
    public let email: String
    /// When the account was registered.
    public let createdAt: Date
    /// Whether the address is verified.
    public let emailVerified: Bool
    /// Whether a second factor is active.
    public let secondFactorEnabled: Bool
    /// Unused recovery codes (0 without a second factor).
    public let recoveryCodesLeft: Int

    /// The account of a stored user, without the hash.
    /// - Parameters:
    ///   - user: The user, as the store holds it.
    ///   - recoveryCodesLeft: Its unused recovery codes.
    init(_ user: User, recoveryCodesLeft: Int = 0) {
        self.init(
            id: user.id, email: user.email, createdAt: user.createdAt, emailVerified: user.emailVerified,
            secondFactorEnabled: user.secondFactorEnabled, recoveryCodesLeft: recoveryCodesLeft)
    }

    /// An account value from its parts.
    init(
        id: Int64, email: String, createdAt: Date, emailVerified: Bool = false, secondFactorEnabled: Bool = false,
        recoveryCodesLeft: Int = 0
    ) {
        self.id = id
        self.email = email
        self.createdAt = createdAt
        self.emailVerified = emailVerified
        self.secondFactorEnabled = secondFactorEnabled
        self.recoveryCodesLeft = recoveryCodesLeft
    }
}

/// What an account's own page shows, read at one moment: `Auth.accountOverview(session:activityLimit:)`.
public struct AccountOverview: Sendable, Equatable {
    /// The account, as `Auth.account(session:)` gives it.
    public let account: Account
    /// Its live sessions, newest first, the asking one marked `current`, as `Auth.sessions(session:)`
    /// gives them.
    public let sessions: [AccountSession]
    /// Its newest activity first.
    public let activity: [ActivityEvent]
}
