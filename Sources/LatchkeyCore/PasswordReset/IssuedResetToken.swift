import Foundation

/// A reset token just issued, with the normalised email it is bound to.
public struct IssuedResetToken: Sendable, Equatable {
    /// The normalised email the token is bound to.
    public var email: String
    /// The token to hand to the owner of the email; the store keeps only its digest.
    public var token: String
    /// When the token stops being accepted.
    public var expiresAt: Date
}
