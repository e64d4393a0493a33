/// A login whose password was just verified: what `Auth.validLogin(email:password:)` returns and
/// `Auth.createSession(for:)` takes.
///
/// Callers outside Core see the account's identifier and normalised email only. The password
/// hash the password was verified against stays inside Core: `createSession` stores the session
/// only while the account still has that hash, so that a password reset landing between the two
/// calls ends this login too.
public struct VerifiedLogin: Sendable, Equatable {
    /// The store's identifier for the account.
    public let id: Int64
    /// The account's normalised email address.
    public let email: String
    /// The bcrypt hash the password matched (after any rehash at login).
    let passwordHash: String

    /// A verified login for a user whose current hash is `user.passwordHash`.
    /// - Parameter user: The account, as the store holds it.
    init(_ user: User) {
        self.id = user.id
        self.email = user.email
        self.passwordHash = user.passwordHash
    }
}
