import Foundation
import LatchkeyCore
import Logging

/// One way messages leave the service (`MessageChannel`): the delivery service hands it each
/// claimed message of its channel, outside any transaction.
protocol MessageSender: Sendable {
    /// The longest one send may take; a claim's lease lasts a little longer.
    var timeout: Duration { get }

    /// Sends one message.
    /// - Parameter message: The message, opened.
    /// - Returns: `nil` when it was sent; otherwise why not, in a few words that never hold the
    ///   payload (the outbox keeps it as the row's last error, and retries).
    func send(_ message: DeliverableMessage) async -> String?

    /// Releases what the sender holds, once the delivery service has stopped.
    func shutdown() async
}

extension MessageSender {
    func shutdown() async {}
}

/// `TOKEN_DELIVERY=log` (or no webhook): account events written to the service log at notice
/// level. This is the one place where a reset or verification token may reach a log, and only with
/// `log` delivery (with `response` delivery no token is ever sent out of band); it is meant for
/// local work only.
struct LogSender: MessageSender {
    let logger: Logger

    var timeout: Duration { .seconds(1) }

    func send(_ message: DeliverableMessage) async -> String? {
        guard var fields = try? JSONDecoder().decode([String: String?].self, from: message.body) else {
            return "the payload is not a JSON object of strings"
        }
        let name = message.entry.message.event
        fields.removeValue(forKey: "event")
        switch name {
        case "password_reset_requested":
            logger.notice(
                "password reset token issued",
                metadata: [
                    "email": "\(fields["email"].flatMap { $0 } ?? "")",
                    "reset_token": "\(fields["reset_token"].flatMap { $0 } ?? "")",
                    "expires_at": "\(fields["expires_at"].flatMap { $0 } ?? "")",
                ])
        case "registration_attempt_existing_account":
            logger.notice(
                "registration attempt for an existing account",
                metadata: ["email": "\(fields["email"].flatMap { $0 } ?? "")"])
        default:
            // The webhook's fields, as metadata; empty for an unknown address or agent.
            var metadata: Logger.Metadata = ["event": "\(name)"]
            for (key, value) in fields { metadata[key] = "\(value ?? "")" }
            logger.notice("\(name.replacingOccurrences(of: "_", with: " "))", metadata: metadata)
        }
        return nil
    }
}
