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
