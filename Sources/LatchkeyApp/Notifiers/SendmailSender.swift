import Foundation
import LatchkeyCore
import LatchkeyUI
import Logging
import Subprocess
import SystemPackage

/// `EMAIL_FROM`: messages by mail, through the system's mailer. Each message is made from the
/// mail templates in its language (`MailRenderer`), written as RFC 5322 text (`MailMessage`) and
/// handed to `SENDMAIL_PATH -t -i` on its standard input, through swift-subprocess: the program
/// reads the recipient from the `To` header (`-t`) and a line holding one dot does not end the
/// message (`-i`). No address or other value of a message is ever an argument (PHPMailer's
/// `-OQueueDirectory=... -X...` injection cannot happen).
///
/// Exit status 0 is a delivery; any other status is a failure the outbox retries; a run past
/// `SENDMAIL_TIMEOUT` is cancelled, which ends the child, and retried. The program's error output
/// is logged (never the message: its link holds a token).
struct SendmailSender: MessageSender {
    let settings: MailSettings
    let renderer: MailRenderer
    /// `PUBLIC_URL`'s host: the right side of every `Message-ID`.
    let domain: String
    let logger: Logger

    var timeout: Duration { .seconds(settings.sendmailTimeout) }

    /// The most bytes of the program's error output read (1 MiB: a mailer writes a few lines); the
    /// log keeps the first `errorOutputLogged` characters.
    static let errorOutputLimit = 1 << 20
    static let errorOutputLogged = 4096

    /// Settings the program must not see: its environment is the service's without them.
    static let withheld = [
        "MFA_ENCRYPTION_KEY", "MFA_ENCRYPTION_KEYS_PREVIOUS", "WEBHOOK_SECRET", "DATABASE_URL", "METRICS_TOKEN",
    ]

    func send(_ message: DeliverableMessage) async -> String? {
        let entry = message.entry.message
        guard let object = try? JSONDecoder().decode([String: String?].self, from: message.body) else {
            return "the payload is not a JSON object of strings"
        }
        guard let mail = renderer.render(event: entry.event, fields: object, language: entry.language) else {
            return "no mail template for \(entry.event)"
        }
        let text = MailMessage(
            from: (settings.fromName, settings.fromAddress), to: entry.recipient, subject: mail.subject,
            text: mail.text, html: mail.html, messageID: "\(entry.id)@\(domain)", date: Date()
        ).rendered()
        let path = settings.sendmailPath
        let limit = Self.errorOutputLimit
        // The program runs in a session of its own, so that a timeout ends every process it started
        // (a wrapper's mailer too), not only the first.
        var options = PlatformOptions()
        options.createSession = true
        options.teardownSequence = [.send(signal: .kill, toProcessGroup: true, allowedDurationToNextStep: .seconds(1))]
        let environment = Environment.inherit.updating(
            Dictionary(uniqueKeysWithValues: Self.withheld.map { (Environment.Key(stringLiteral: $0), String?.none) }))
        let outcome: (status: TerminationStatus, errors: String)?
        do {
            outcome = try await withTimeLimit(timeout) { [options] in
                let result = try await Subprocess.run(
                    .path(FilePath(path)), arguments: ["-t", "-i"], environment: environment, platformOptions: options,
                    input: .string(text), output: .discarded, error: .string(limit: limit))
                return (result.terminationStatus, result.standardError)
            }
        } catch {
            return "\(path) could not be run (\(String(reflecting: type(of: error))))"
        }
        guard let outcome else {
            logger.warning("sendmail did not finish in time and was stopped", metadata: ["id": "\(entry.id)"])
            return "\(path) did not finish within SENDMAIL_TIMEOUT (\(settings.sendmailTimeout) s)"
        }
        let errors = String(
            outcome.errors.trimmingCharacters(in: .whitespacesAndNewlines).prefix(Self.errorOutputLogged))
        if !errors.isEmpty {
            logger.warning(
                "sendmail wrote to its error output",
                metadata: ["id": "\(entry.id)", "output": "\(errors)", "status": "\(outcome.status)"])
        }
        guard outcome.status.isSuccess else {
            // A relay that enforces RFC 6531 refuses a non-ASCII local part that the mailer sends
            // without declaring SMTPUTF8.
            let nonASCII = !entry.recipient.unicodeScalars.allSatisfy(\.isASCII)
            return "\(path) ended with \(outcome.status)"
                + (nonASCII ? " (the address is not ASCII: the relay may require SMTPUTF8)" : "")
        }
        return nil
    }
}
