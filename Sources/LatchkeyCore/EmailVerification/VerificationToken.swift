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
    /// The token proves the account's own address for the first time, without a password, while
    /// a pending claim of the address is live: nothing changed, and the token stays.
    case claimPending
}

/// What the first proof of an account's own address does besides verifying it, when the person
/// who followed the link chose a password (`Auth.verifyEmail(token:email:password:origin:)`): the
/// account takes that password hash, and whatever whoever knew the old password may have started
/// goes (`revoking`).
public struct MailboxProof: Sendable, Equatable {
    /// The hash the account takes.
    public var passwordHash: String
    /// What goes with the old password (`PasswordRevocation.proofOfMailbox(endingSessions:)`).
    public var revoking: PasswordRevocation

    /// Creates a proof.
    /// - Parameters:
    ///   - passwordHash: The hash the account takes.
    ///   - revoking: What goes with the old password.
    public init(passwordHash: String, revoking: PasswordRevocation) {
        self.passwordHash = passwordHash
        self.revoking = revoking
    }
}

/// A registration of an address whose account is not verified yet, kept in production instead of
/// being dropped (`Auth.registerUser`): its own password hash, which becomes the account's if the
/// person who proves the mailbox gives that password. At most one per address (a newer one
/// replaces it); it lives as long as a verification token (`EMAIL_VERIFICATION_TTL`).
public struct PendingClaim: Sendable, Equatable {
    /// The account that holds the address.
    public var userID: Int64
    /// The hash of the password the later registration gave.
    public var passwordHash: String
    /// When it was made.
    public var createdAt: Date
    /// When it stops counting, and is purged.
    public var expiresAt: Date

    /// Creates a claim.
    /// - Parameters:
    ///   - userID: The account that holds the address.
    ///   - passwordHash: The hash of the password the registration gave.
    ///   - createdAt: When it was made.
    ///   - expiresAt: When it stops counting.
    public init(userID: Int64, passwordHash: String, createdAt: Date, expiresAt: Date) {
        self.userID = userID
        self.passwordHash = passwordHash
        self.createdAt = createdAt
        self.expiresAt = expiresAt
    }
}
