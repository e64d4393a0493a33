import Foundation
import LatchkeyCore
import Logging

/// `TOKEN_DELIVERY=log` (or no webhook): account events written to the service log at notice
/// level. This is the one place where a reset or verification token may reach a log, and only with
/// `log` delivery (with `response` delivery no token is ever sent out of band); it is meant for
/// local work only.
struct LogNotifier: AccountNotifier {
    let logger: Logger

    func notify(_ event: AccountEvent) {
        switch event {
        case .passwordResetRequested(let email, let token, let expiresAt):
            logger.notice(
                "password reset token issued",
                metadata: ["email": "\(email)", "reset_token": "\(token)", "expires_at": "\(rfc3339(expiresAt))"])
        case .registrationAttemptExistingAccount(let email):
            logger.notice("registration attempt for an existing account", metadata: ["email": "\(email)"])
        default:
            // The webhook's fields, as metadata; empty for an unknown address or agent.
            var metadata: Logger.Metadata = ["event": "\(event.name)"]
            for (key, value) in event.fields { metadata[key] = "\(value ?? "")" }
            logger.notice("\(event.name.replacingOccurrences(of: "_", with: " "))", metadata: metadata)
        }
    }
}
