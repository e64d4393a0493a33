import Foundation

/// How a reset token reaches its owner.
public enum ResetTokenDelivery: String, Sendable, CaseIterable {
    /// In the HTTP response, as the original service did (and 403 for unknown emails).
    case response
    /// In the service log, for local work only.
    case log
    /// To a webhook, signed.
    case webhook

    /// Whether the token leaves through a notifier rather than the response.
    var isOutOfBand: Bool { self != .response }
}

/// What `Auth.requestPasswordReset(for:)` did.
public enum ResetRequestOutcome: Sendable, Equatable {
    /// The token, for the response (`response` delivery).
    case issued(IssuedResetToken)
    /// The request was accepted for this normalised email; if it has an account, the token
    /// went out of band. The same answer whether or not it has one.
    case accepted(email: String)
}
