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
    /// Whether the account has an active second factor and no code was checked yet: then
    /// `createSession(for:origin:)` refuses it, and the login goes on with
    /// `issueLoginChallenge(for:)` or `verifySecondStep(_:code:origin:)`.
    public var secondStepRequired: Bool { secondFactorEnabled && aal < 2 }
    /// The bcrypt hash the password matched (after any rehash at login).
    let passwordHash: String
    /// Whether the account has an active second factor.
    let secondFactorEnabled: Bool
    /// The assurance level the session will have: 1 for the password alone, 2 with a code.
    let aal: Int

    /// A verified login for a user whose current hash is `user.passwordHash`.
    /// - Parameters:
    ///   - user: The account, as the store holds it.
    ///   - aal: The factors checked: 1 (the password) or 2 (and a code).
    init(_ user: User, aal: Int = 1) {
        self.init(
            id: user.id, email: user.email, passwordHash: user.passwordHash,
            secondFactorEnabled: user.secondFactorEnabled, aal: aal)
    }

    private init(id: Int64, email: String, passwordHash: String, secondFactorEnabled: Bool, aal: Int) {
        self.id = id
        self.email = email
        self.passwordHash = passwordHash
        self.secondFactorEnabled = secondFactorEnabled
        self.aal = aal
    }

    /// The same login once a code was checked: `aal` 2.
    func withSecondFactor() -> VerifiedLogin {
        VerifiedLogin(
            id: id, email: email, passwordHash: passwordHash, secondFactorEnabled: secondFactorEnabled, aal: 2)
    }
}
