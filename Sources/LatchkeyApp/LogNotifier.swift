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
        case .passwordChanged(let email, let at, let ip, let userAgent):
            logger.notice(
                "password changed",
                metadata: [
                    "event": "\(event.name)", "email": "\(email)", "at": "\(rfc3339(at))", "ip": "\(ip ?? "")",
                    "user_agent": "\(userAgent ?? "")",
                ])
        case .emailVerificationRequested(let email, let token, let expiresAt):
            logger.notice(
                "email verification token issued",
                metadata: [
                    "event": "\(event.name)", "email": "\(email)", "verification_token": "\(token)",
                    "expires_at": "\(rfc3339(expiresAt))",
                ])
        case .emailChanged(let email, let newEmail), .emailChangeStarted(let email, let newEmail):
            logger.notice(
                "email change", metadata: ["event": "\(event.name)", "email": "\(email)", "new_email": "\(newEmail)"])
        case .emailChangeRequested(let email, let token, let expiresAt):
            logger.notice(
                "email change token issued",
                metadata: [
                    "event": "\(event.name)", "email": "\(email)", "verification_token": "\(token)",
                    "expires_at": "\(rfc3339(expiresAt))",
                ])
        case .accountDeleted(let email, let at):
            logger.notice(
                "account deleted", metadata: ["event": "\(event.name)", "email": "\(email)", "at": "\(rfc3339(at))"])
        }
    }
}
