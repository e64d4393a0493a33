import Foundation
import LatchkeyCore
import LatchkeyUI
import Testing

@testable import LatchkeyApp

@Suite("Mail: the message's bytes and its words")
struct MailMessageTests {
    static let message = MailMessage(
        from: ("Latchkey", "no-reply@example.com"), to: "ada@example.com", subject: "Réinitialisez votre mot de passe",
        text: "Bonjour,\n\nhttps://auth.example.com/ui/reset?email=ada%40example.com&token=abc\n",
        html: "<p>Bonjour,</p>", messageID: "msg_abc@auth.example.com", date: Date(timeIntervalSince1970: 1_800_000_000)
    )

    @Test("headers: Date, Message-ID, From, To, an RFC 2047 subject, MIME-Version, Auto-Submitted; CRLF lines")
    func headers() {
        let text = Self.message.rendered(boundary: "=_b")
        let head = text.components(separatedBy: "\r\n\r\n")[0].components(separatedBy: "\r\n")
        #expect(
            head == [
                "Date: Fri, 15 Jan 2027 08:00:00 +0000", "Message-ID: <msg_abc@auth.example.com>",
                "From: \"Latchkey\" <no-reply@example.com>", "To: ada@example.com",
                "Subject: =?UTF-8?B?UsOpaW5pdGlhbGlzZXogdm90cmUgbW90IGRlIHBhc3Nl?=", "MIME-Version: 1.0",
                "Auto-Submitted: auto-generated", "Content-Type: multipart/alternative; boundary=\"=_b\"",
            ])
        #expect(!text.replacingOccurrences(of: "\r\n", with: "").contains("\n"))
        #expect(!text.replacingOccurrences(of: "\r\n", with: "").contains("\r"))
        #expect(text.hasSuffix("--=_b--\r\n"))
    }

    @Test("a CR, a LF or any control character in a header value becomes a space: nothing is injected")
    func noInjection() {
        for evil in ["Hi\r\nBcc: eve@example.com", "Hi\nBcc: eve@example.com", "Hi\rBcc: eve@example.com", "Hi\u{0}x"] {
            var message = Self.message
            message.subject = evil
            message.from = (evil, "no-reply@example.com")
            message.to = "ada@example.com\r\nBcc: eve@example.com"
            let head = message.rendered(boundary: "=_b").components(separatedBy: "\r\n\r\n")[0]
            #expect(!head.components(separatedBy: "\r\n").contains { $0.hasPrefix("Bcc") }, "\(evil)")
            #expect(!head.contains("\n\r") && !head.replacingOccurrences(of: "\r\n", with: "").contains("\n"))
        }
    }

    @Test("quoted-printable: UTF-8 bytes as =XX, = as =3D, lines of at most 76, a space before a break encoded")
    func quotedPrintable() {
        #expect(MailMessage.quotedPrintable("é=1 ") == "=C3=A9=3D1=20")
        #expect(MailMessage.quotedPrintable("a\nb") == "a\r\nb")
        let long = String(repeating: "x", count: 200)
        let lines = MailMessage.quotedPrintable(long).components(separatedBy: "\r\n")
        #expect(lines.allSatisfy { $0.count <= 76 })
        #expect(lines.dropLast().allSatisfy { $0.hasSuffix("=") })
        #expect(lines.map { $0.hasSuffix("=") ? String($0.dropLast()) : $0 }.joined() == long)
        // A line holding one dot stays a line of its own (`-i` keeps it from ending the message).
        #expect(MailMessage.quotedPrintable(".") == ".")
    }

    @Test("an encoded word is at most 75 characters and never splits a character")
    func encodedWords() {
        let subject = String(repeating: "é", count: 60)
        let words = MailMessage.encodedWords(subject).components(separatedBy: "\r\n ")
        #expect(words.count > 1 && words.allSatisfy { $0.count <= 64 })
        #expect(("Subject: " + words[0]).count <= 76)
        let decoded = words.map { word in
            String(decoding: Data(base64Encoded: String(word.dropFirst(10).dropLast(2))) ?? Data(), as: UTF8.self)
        }
        #expect(decoded.joined() == subject)
        #expect(MailMessage.encodedWords("plain") == "plain")
    }

    @Test("the words: every event in English and French, links built from PUBLIC_URL, escaped HTML")
    func words() throws {
        let renderer = try MailRenderer(
            theme: PageTheme(product: "Acme <Login>"), publicURL: "https://auth.example.com")
        let reset = try #require(
            renderer.render(
                event: "password_reset_requested",
                fields: ["email": "ada@example.com", "reset_token": "tok-en_1", "expires_at": "2027-01-15T08:00:00Z"],
                language: "fr"))
        #expect(reset.subject == "Réinitialisez votre mot de passe Acme <Login>")
        let url = "https://auth.example.com/ui/reset?email=ada%40example.com&token=tok-en_1"
        #expect(reset.text.contains(url))
        #expect(
            reset.html.contains("href=\"https://auth.example.com/ui/reset?email=ada%40example.com&amp;token=tok-en_1\"")
        )
        #expect(reset.html.contains("Acme &lt;Login&gt;") && !reset.html.contains("Acme <Login>"))
        #expect(reset.html.contains("lang=\"fr\""))
        let events = [
            "password_reset_requested", "email_verification_requested", "email_change_requested",
            "registration_attempt_existing_account", "password_changed", "password_reset", "account_deleted",
            "email_changed",
            "email_change_started", "mfa_enabled", "mfa_disabled", "recovery_code_used",
            "password_used_without_second_factor",
        ]
        for event in events {
            for language in ["en", "fr", nil] {
                let mail = try #require(
                    renderer.render(
                        event: event,
                        fields: [
                            "email": "ada@example.com", "new_email": "ada.new@example.com",
                            "at": "2027-01-15T08:00:00Z", "verification_token": "t", "reset_token": "t",
                            "expires_at": "2027-01-15T09:00:00Z", "recovery_codes_left": "9",
                        ],
                        language: language),
                    "\(event)")
                #expect(!mail.subject.isEmpty && !mail.subject.contains("\n"), "\(event)")
                #expect(!mail.text.contains("{") && !mail.html.contains("{{"), "\(event)")
                #expect(mail.text.contains("ada@example.com"), "\(event): the footer names the address")
                #expect(
                    mail.text.contains("https://auth.example.com/ui/") == MailRenderer.tokenPages.keys.contains(event),
                    "\(event)")
            }
        }
        #expect(renderer.render(event: "no_such_event", fields: [:], language: "en") == nil)
    }
}
