/// What `Auth.requestPasswordReset(for:)` did.
public enum ResetRequestOutcome: Sendable, Equatable {
    /// The token, for the response (`response` delivery).
    case issued(IssuedResetToken)
    /// The request was accepted for this normalised email; if it has an account, the token
    /// went out of band. The same answer whether or not it has one.
    case accepted(email: String)
}
