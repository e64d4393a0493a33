import Foundation

/// A user's second factor as stored: the TOTP secret (active, pending, or both) sealed by
/// `SecondFactorKeyring`, never in the clear, and the last accepted time step.
public struct SecondFactor: Sendable, Equatable {
    /// The user.
    public var userID: Int64
    /// The active TOTP secret, sealed (`SecondFactorKeyring.seal(_:userID:)`); `nil` while none is active.
    public var secret: Data?
    /// The secret of an enrolment begun but not yet confirmed by a code, sealed; `nil` when none.
    public var pendingSecret: Data?
    /// The TOTP time step of the last accepted code (RFC 6238 section 5.2: a code at or before it
    /// is refused); `nil` before the first.
    public var lastStep: Int64?
    /// How many unused recovery codes the user holds.
    public var recoveryCodesLeft: Int
    /// The factor's revision: every change of its state (an enrolment begun or confirmed, new
    /// recovery codes) adds one, so that a change can require the state it started from
    /// (`SecondFactorStore`'s `ifRevision:`). Accepting a code changes no revision.
    public var revision: Int64

    /// Creates a factor value.
    /// - Parameters:
    ///   - userID: The user.
    ///   - secret: The active secret, sealed.
    ///   - pendingSecret: The pending secret, sealed.
    ///   - lastStep: The last accepted step.
    ///   - recoveryCodesLeft: The unused recovery codes.
    ///   - revision: The factor's revision.
    public init(
        userID: Int64, secret: Data?, pendingSecret: Data?, lastStep: Int64?, recoveryCodesLeft: Int,
        revision: Int64 = 0
    ) {
        self.userID = userID
        self.secret = secret
        self.pendingSecret = pendingSecret
        self.lastStep = lastStep
        self.recoveryCodesLeft = recoveryCodesLeft
        self.revision = revision
    }

    /// Whether a second factor is active.
    public var isActive: Bool { secret != nil }
}

/// The first step of a login with a second factor: the right password was given, and this
/// token (its SHA-256 here) lets `POST /sessions/mfa` finish it with a code.
public struct LoginChallenge: Sendable, Equatable {
    /// The SHA-256 of the token sent to the client.
    public var tokenDigest: TokenDigest
    /// The account.
    public var userID: Int64
    /// The password hash the login verified: the session is made only while it is still the
    /// account's (a reset in between voids the token).
    public var passwordHash: String
    /// When it stops being accepted.
    public var expiresAt: Date

    /// Creates a token record.
    /// - Parameters:
    ///   - tokenDigest: The SHA-256 of the token.
    ///   - userID: The account.
    ///   - passwordHash: The hash the password was verified against.
    ///   - expiresAt: When it stops being accepted.
    public init(tokenDigest: TokenDigest, userID: Int64, passwordHash: String, expiresAt: Date) {
        self.tokenDigest = tokenDigest
        self.userID = userID
        self.passwordHash = passwordHash
        self.expiresAt = expiresAt
    }
}
