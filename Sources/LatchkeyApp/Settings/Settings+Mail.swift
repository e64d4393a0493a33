import Foundation
import LatchkeyCore

/// Where and how mail leaves (`EMAIL_FROM`, `SENDMAIL_PATH`, `SENDMAIL_TIMEOUT`).
public struct MailSettings: Sendable, Equatable {
    /// The sender's display name (may be empty) and address.
    public var fromName: String
    /// The sender's address.
    public var fromAddress: String
    /// The sendmail-compatible program, run as `SENDMAIL_PATH -t -i`.
    public var sendmailPath: String
    /// The longest one run of the program may take, in seconds.
    public var sendmailTimeout: Int

    /// Creates the settings.
    /// - Parameters:
    ///   - fromName: The sender's display name.
    ///   - fromAddress: The sender's address.
    ///   - sendmailPath: The program.
    ///   - sendmailTimeout: The longest run, in seconds.
    public init(fromName: String, fromAddress: String, sendmailPath: String, sendmailTimeout: Int) {
        self.fromName = fromName
        self.fromAddress = fromAddress
        self.sendmailPath = sendmailPath
        self.sendmailTimeout = sendmailTimeout
    }
}

extension Settings {
    /// Reads `EMAIL_FROM`, `SENDMAIL_PATH` and `SENDMAIL_TIMEOUT`, checks them against
    /// `TOKEN_DELIVERY` and `PUBLIC_URL` (read before), and chooses the channels of tokens and
    /// notices (`AuthPolicy.tokenChannels`, `.noticeChannels`).
    /// - Throws: `ConfigurationError`, one line per problem: `TOKEN_DELIVERY=email` without
    ///   `EMAIL_FROM` or `PUBLIC_URL`; `EMAIL_FROM` without `PUBLIC_URL` (links in mail are
    ///   built from it alone), or that is not `address` or `Name <address>`; `SENDMAIL_PATH` that
    ///   is not an executable file while mail is on; `SENDMAIL_TIMEOUT` outside 1 to 600.
    static func loadMail(
        into settings: inout Settings, text: (Key) -> String?, integer: (Key, ClosedRange<Int>, Int) -> Int
    ) throws(ConfigurationError) {
        var problems: [String] = []
        let delivery = settings.policy.tokenDelivery
        let timeout = integer(.sendmailTimeout, 1...600, 30)
        let path = text(.sendmailPath) ?? "/usr/sbin/sendmail"
        if let raw = text(.emailFrom) {
            if let (name, address) = Self.mailbox(raw) {
                settings.mail = MailSettings(
                    fromName: name, fromAddress: address, sendmailPath: path, sendmailTimeout: timeout)
            } else {
                // The value is not repeated: it may hold a line break.
                problems.append(
                    "EMAIL_FROM: must be an address (no-reply@example.com) or a name and an address "
                        + "(Latchkey <no-reply@example.com>), without control characters")
            }
            if settings.publicURL == nil {
                problems.append("EMAIL_FROM: needs PUBLIC_URL, which every link in a mail is built from")
            }
            if !FileManager.default.isExecutableFile(atPath: path) {
                problems.append("SENDMAIL_PATH: \(path) is not an executable file (mail is on: EMAIL_FROM is set)")
            }
        } else if delivery == .email {
            problems.append("EMAIL_FROM: must be set when TOKEN_DELIVERY is email")
            if settings.publicURL == nil { problems.append("PUBLIC_URL: must be set when TOKEN_DELIVERY is email") }
        }
        guard problems.isEmpty else { throw ConfigurationError(problems: problems) }
        switch delivery {
        case .email: settings.policy.tokenChannels = [.email]
        case .webhook: settings.policy.tokenChannels = [.webhook]
        case .log, .response: settings.policy.tokenChannels = [.log]
        }
        var notices: [MessageChannel] = []
        if settings.mail != nil { notices.append(.email) }
        // The webhook hears of notices with any delivery but the log (which is for local work).
        if settings.webhook != nil, delivery != .log { notices.append(.webhook) }
        if notices.isEmpty || delivery == .log { notices.append(.log) }
        settings.policy.noticeChannels = notices
    }

    /// Reads a mailbox: `address`, or `Name <address>`, the address in the rules' canonical form
    /// and the name without control characters or angle brackets.
    /// - Parameter raw: The text.
    /// - Returns: The name (empty when none) and the address, or `nil`.
    static func mailbox(_ raw: String) -> (String, String)? {
        let trimmed = raw.trimmingCharacters(in: .whitespaces)
        var name = ""
        var address = trimmed
        if trimmed.hasSuffix(">"), let open = trimmed.lastIndex(of: "<") {
            name = trimmed[..<open].trimmingCharacters(in: .whitespaces)
            address = String(trimmed[trimmed.index(after: open)..<trimmed.index(before: trimmed.endIndex)])
            if name.hasPrefix("\""), name.hasSuffix("\""), name.count >= 2 {
                name = String(name.dropFirst().dropLast())
            }
        }
        guard
            !name.unicodeScalars.contains(where: {
                $0.properties.generalCategory == .control || "<>\"".unicodeScalars.contains($0)
            }),
            let canonical = (try? EmailAddress(address))?.value
        else { return nil }
        return (name, canonical)
    }
}
