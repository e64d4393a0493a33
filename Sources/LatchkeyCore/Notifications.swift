import Foundation

/// Something that happened to an account that its owner should hear of, out of band.
public enum AccountEvent: Sendable, Equatable {
    /// A reset token was issued for `email`; only its owner may see `token`.
    case passwordResetRequested(email: String, token: String, expiresAt: Date)
    /// Someone tried to register `email`, which already has an account.
    case registrationAttemptExistingAccount(email: String)
}

/// Delivers account events (a log line, a webhook). `notify` hands the event over and returns
/// at once: no HTTP response ever waits for a delivery.
public protocol AccountNotifier: Sendable {
    /// Hands an event over for delivery.
    /// - Parameter event: The event.
    func notify(_ event: AccountEvent)
}

/// How a reset token reaches its owner.
public enum ResetTokenDelivery: String, Sendable, CaseIterable {
    /// In the HTTP response, as the original service did (and 403 for unknown emails).
    case response
    /// In the service log, for local work only.
    case log
    /// To a webhook, signed.
    case webhook

    /// Whether the token leaves through a notifier rather than the response.
    public var isOutOfBand: Bool { self != .response }
}

/// What `Auth.requestPasswordReset(for:)` did.
public enum ResetRequestOutcome: Sendable, Equatable {
    /// The token, for the response (`response` delivery).
    case issued(IssuedResetToken)
    /// The request was accepted for this normalised email; if it has an account, the token
    /// went out of band. The same answer whether or not it has one.
    case accepted(email: String)
}
