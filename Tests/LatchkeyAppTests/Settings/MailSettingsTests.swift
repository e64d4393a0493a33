import Foundation
import LatchkeyCore
import Testing

@testable import LatchkeyApp

@Suite("Mail settings and the channels of messages")
struct MailSettingsTests {
    func load(_ environment: [String: String]) async throws -> Settings {
        try Settings.load(
            from: await Settings.reader(flags: [:], environment: environment, dotEnvPath: "/nonexistent/.env"))
    }

    static let mail = [
        "EMAIL_FROM": "Acme Login <No-Reply@Example.COM>", "PUBLIC_URL": "https://auth.example.com",
        "SENDMAIL_PATH": "/bin/true",
    ]
    static let webhook = ["WEBHOOK_URL": "https://hooks.example.com/", "WEBHOOK_SECRET": "0123456789abcdef"]

    @Test(
        "tokens go by TOKEN_DELIVERY's channel; notices by mail when EMAIL_FROM is set, and to the webhook too",
        arguments: [
            ([:], [MessageChannel.log], [MessageChannel.log]),
            (["TOKEN_DELIVERY": "email"].merging(mail) { a, _ in a }, [.email], [.email]),
            (
                ["TOKEN_DELIVERY": "webhook"].merging(mail) { a, _ in a }.merging(webhook) { a, _ in a }, [.webhook],
                [.email, .webhook]
            ),
            (["TOKEN_DELIVERY": "response"].merging(webhook) { a, _ in a }, [.log], [.webhook]),
            (["TOKEN_DELIVERY": "log"].merging(mail) { a, _ in a }, [.log], [.email, .log]),
        ])
    func channels(environment: [String: String], tokens: [MessageChannel], notices: [MessageChannel]) async throws {
        let settings = try await load(environment)
        #expect(settings.policy.tokenChannels == tokens)
        #expect(settings.policy.noticeChannels == notices)
    }

    @Test("EMAIL_FROM: a name and the canonical address; SENDMAIL_TIMEOUT in seconds")
    func sender() async throws {
        let settings = try await load(Self.mail.merging(["SENDMAIL_TIMEOUT": "7"]) { a, _ in a })
        #expect(
            settings.mail
                == MailSettings(
                    fromName: "Acme Login", fromAddress: "no-reply@example.com", sendmailPath: "/bin/true",
                    sendmailTimeout: 7))
        #expect(settings.securitySummary["mail"] == "from no-reply@example.com through /bin/true")
        let quoted = try await load(Self.mail.merging(["EMAIL_FROM": "\"Acme\" <a@example.com>"]) { _, b in b })
        #expect(quoted.mail?.fromName == "Acme")
        #expect(try await load([:]).securitySummary["mail"] == "off")
    }

    @Test(
        "start-up refuses mail it cannot send, one line per problem, naming the setting",
        arguments: [
            (["TOKEN_DELIVERY": "email", "PUBLIC_URL": "https://auth.example.com"], "EMAIL_FROM"),
            (["EMAIL_FROM": "a@example.com", "SENDMAIL_PATH": "/bin/true"], "EMAIL_FROM: needs PUBLIC_URL"),
            (
                [
                    "EMAIL_FROM": "a@example.com", "PUBLIC_URL": "https://auth.example.com",
                    "SENDMAIL_PATH": "/nonexistent",
                ],
                "SENDMAIL_PATH"
            ),
            (
                [
                    "EMAIL_FROM": "Evil\r\nBcc: e@example.com <a@example.com>", "PUBLIC_URL": "https://a.example.com",
                    "SENDMAIL_PATH": "/bin/true",
                ], "EMAIL_FROM"
            ),
            (
                ["EMAIL_FROM": "not an address", "PUBLIC_URL": "https://a.example.com", "SENDMAIL_PATH": "/bin/true"],
                "EMAIL_FROM"
            ),
            (Self.mail.merging(["SENDMAIL_TIMEOUT": "0"]) { _, b in b }, "SENDMAIL_TIMEOUT"),
            (
                ["LATCHKEY_ENV": "production", "METRICS_TOKEN": "metrics-t0ken", "TOKEN_DELIVERY": "email"].merging(
                    mail
                ) {
                    a, _ in a
                }, "MFA_ENCRYPTION_KEY"
            ),
        ])
    func refusals(environment: [String: String], setting: String) async throws {
        do {
            _ = try await load(environment)
            Issue.record("started with \(environment)")
        } catch let error as ConfigurationError {
            #expect(error.problems.contains { $0.hasPrefix(setting) }, "\(error)")
            #expect(error.problems.allSatisfy { !$0.contains("\n") && !$0.contains("\r") })
        }
    }
}
