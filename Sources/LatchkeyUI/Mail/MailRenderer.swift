import Foundation
import Mustache

/// The words and markup of the mails: three swift-mustache templates, compiled in and
/// overridable one file at a time through `UI_TEMPLATES_DIR` as the pages' are
/// (`mail-subject.mustache`, `mail-text.mustache`, `mail-html.mustache`), filled with the
/// sentences of the message's language from the pages' catalogs (`mail.<event>.subject`,
/// `.body`, `.action`). The subject and the text part declare `{{% CONTENT_TYPE: TEXT}}`, so that
/// a link is written as it is; the HTML part escapes every value (`LATCHKEY_HTML`).
///
/// Links are built from `PUBLIC_URL` alone (`Pages.link(publicURL:_:email:token:)`), never from a
/// request: a mail is made by the delivery service, long after and away from any request.
public struct MailRenderer: Sendable {
    /// One message's three parts.
    public struct Mail: Sendable, Equatable {
        /// The subject, one line, not yet encoded for a header.
        public let subject: String
        /// The plain-text part.
        public let text: String
        /// The HTML part.
        public let html: String
    }

    private let catalogs: [String: Catalog]
    private let library: MustacheLibrary
    private let product: String
    private let publicURL: String

    /// The templates' names, without `.mustache`.
    static let templateNames = ["mail-subject", "mail-text", "mail-html"]

    /// The events whose message carries a token, and the page its link opens.
    public static let tokenPages = [
        "password_reset_requested": "reset", "email_verification_requested": "verify",
        "email_change_requested": "verify",
    ]

    /// Reads the templates and catalogs, with the operator's overrides.
    /// - Parameters:
    ///   - theme: The brand and the override folder (`UI_TITLE`, `UI_TEMPLATES_DIR`).
    ///   - publicURL: `PUBLIC_URL`, without a trailing slash: the links' base.
    /// - Throws: `PageSetupError` naming the file: as the pages' files do, and a mail template
    ///   that does not parse.
    public init(theme: PageTheme, publicURL: String) throws(PageSetupError) {
        let files = try PageFiles(theme: theme)
        MustacheContentTypes.register(HTMLEscaping(), named: HTMLEscaping.name)
        var templates: [String: MustacheTemplate] = [:]
        for name in Self.templateNames {
            do {
                templates[name] = try MustacheTemplate(string: files.templates[name] ?? "")
            } catch {
                throw PageSetupError("\(name).mustache: not a template (\(error))")
            }
        }
        library = MustacheLibrary(templates: templates)
        catalogs = files.catalogs
        product = files.product
        self.publicURL = publicURL
    }

    /// Makes the message of an event.
    /// - Parameters:
    ///   - event: The event's name (`AccountEvent.name`).
    ///   - fields: The event's fields, as its JSON has them (times in RFC 3339).
    ///   - language: The `Accept-Language` of the request that caused it, as the outbox row keeps
    ///     it; read as the pages read it (`LanguageChoice`): English when `nil` or when no
    ///     shipped language matches.
    /// - Returns: The message, or `nil` for an event the catalog has no subject for.
    public func render(event: String, fields: [String: String?], language: String?) -> Mail? {
        let chosen = LanguageChoice.choose(language, available: PageRenderer.shippedLanguages)
        let catalog = catalogs[chosen] ?? catalogs["en"] ?? Catalog(language: "en", strings: [:])
        guard catalog.strings["mail.\(event).subject"] != nil else { return nil }
        let field = { (name: String) in fields[name].flatMap { $0 } ?? "" }
        let when = { (name: String) -> String in
            guard let date = try? Date(field(name), strategy: .iso8601) else { return field(name) }
            return Pages.when(date, catalog)
        }
        let email = field("email")
        let words: [String: String] = [
            "product": product, "email": email, "new_email": field("new_email"), "when": when("at"),
            "left": field("recovery_codes_left"),
        ]
        var values: [String: Any] = [
            "lang": catalog.language, "product": product,
            "subject": catalog.text("mail.\(event).subject", words),
            "greeting": catalog.text("mail.greeting"),
            "paragraphs": [catalog.text("mail.\(event).body", words)],
            "footer": catalog.text("mail.footer", words),
        ]
        if let page = Self.tokenPages[event] {
            let token = field("reset_token").isEmpty ? field("verification_token") : field("reset_token")
            values["action"] = [
                "url": Pages.link(publicURL: publicURL, page, email: email, token: token),
                "label": catalog.text("mail.\(event).action"),
                "note": catalog.text("mail.expires", ["when": when("expires_at")]) + " "
                    + catalog.text("mail.ignore"),
            ]
        }
        // A subject is one line whatever a template or a sentence holds.
        let subject = (library.render(values, withTemplate: "mail-subject") ?? "")
            .split(whereSeparator: \.isNewline).joined(separator: " ")
            .trimmingCharacters(in: .whitespaces)
        return Mail(
            subject: subject, text: library.render(values, withTemplate: "mail-text") ?? "",
            html: library.render(values, withTemplate: "mail-html") ?? "")
    }
}
