import Foundation
import HTTPTypes
import LatchkeyCore
import LatchkeyHTTP
import LatchkeyTestSupport
import Testing

@testable import LatchkeyUI

@Suite("Pages: languages")
struct LanguageTests {
    @Test("every catalog has exactly English's keys, with the same placeholders and twelve months")
    func catalogsMatchEnglish() throws {
        #expect(english.strings.count > 100)
        #expect(english.problems(against: english, file: "en.json").isEmpty)
        for language in PageRenderer.shippedLanguages {
            let file = "\(language).json"
            let catalog = try Catalog(language: language, json: try #require(PageFiles.shipped[file]), file: file)
            #expect(catalog.problems(against: english, file: file) == [], "\(file)")
            #expect(catalog.months.count == 12, "\(file)")
        }
        // The check itself: a missing key, an unknown key, a placeholder lost, a short month list.
        var strings = english.strings
        strings.removeValue(forKey: "login.title")
        strings["login.titel"] = "Log in"
        strings["problem.throttled"] = "Too many attempts."
        strings["time.months"] = "Jan Feb"
        #expect(
            Catalog(language: "xx", strings: strings).problems(against: english, file: "xx.json") == [
                "xx.json: login.titel is not a key of the pages' catalog",
                "xx.json: problem.throttled must have the placeholders of English: Too many attempts. Try again in {seconds} seconds.",
                "xx.json: login.title is missing",
                "xx.json: time.months must be twelve names separated by spaces",
            ])
    }

    @Test("no template holds a literal sentence: text and labels come from the catalog")
    func templatesHoldNoSentence() throws {
        for (file, bytes) in PageFiles.shipped where file.hasSuffix(".mustache") {
            var text = String(decoding: bytes, as: UTF8.self)
            // Attribute values a person reads must be catalog keys or values.
            for attribute in ["aria-label", "alt", "title", "placeholder"] {
                for value in Self.values(of: attribute, in: text) {
                    #expect(value.isEmpty || value.hasPrefix("[[") || value.hasPrefix("{{"), "\(file): \(value)")
                }
            }
            for (open, close) in [("[[", "]]"), ("{{", "}}"), ("<", ">")] {
                text = Self.removing(from: open, to: close, in: text)
            }
            let letters = text.unicodeScalars.filter { $0.properties.isAlphabetic }
            #expect(letters.isEmpty, "\(file) holds text outside tags: \(text)")
        }
    }

    @Test("every key a template reads is in the catalog, and start-up refuses a template that reads another")
    func templateKeysExist() throws {
        for (file, bytes) in PageFiles.shipped where file.hasSuffix(".mustache") {
            let keys = PageRenderer.catalogKeys(in: String(decoding: bytes, as: UTF8.self))
            for key in keys.subtracting(PageRenderer.brandKeys) {
                #expect(english.strings[key] != nil, "\(file): \(key)")
            }
        }
        #expect(
            PageRenderer.catalogKeys(in: "[[<layout]][[$title]][[ login.title ]][[/title]][[#x]][[/x]]") == [
                "login.title"
            ])
    }

    @Test("every activity kind and every Core error has a sentence in every language")
    func everythingCoreSaysIsWorded() throws {
        for kind in ActivityEvent.Kind.allCases {
            #expect(english.strings["activity.\(kind.rawValue)"] != nil, "\(kind)")
        }
        let errors: [AuthError] = [
            .invalidEmail("?"), .invalidPassword("?"), .invalidInput("?"), .emailAlreadyRegistered,
            .invalidCredentials, .invalidSession, .wrongPassword, .sessionNotFound, .accountChanged,
            .emailNotRegistered, .invalidResetToken, .invalidVerificationToken, .emailAlreadyVerified,
            .emailNotVerified, .emailTaken, .emailVerificationOff, .secondStepRequired, .wrongCode,
            .secondFactorAlreadyActive, .emailVerificationRequiredFirst, .noPendingEnrolment,
            .noActiveSecondFactor, .secondFactorNotConfigured, .invalidLoginChallenge,
            .invalidInput(SecondFactorCode.shapeProblem), .invalidInput(Auth.passwordRequiredForClaimedAddress),
            .throttled(retryAfter: 7), .storageUnavailable, .overloaded(retryAfter: 3),
        ]
        for error in errors {
            let problem = PageProblem.from(error)
            #expect(english.strings[problem.text.key] != nil, "\(error)")
            // The page's status is the API's.
            #expect(problem.status == APIError(error).status, "\(error)")
            let sentence = english.text(problem.text)
            #expect(!sentence.contains("{") && sentence.hasSuffix("."), "\(error): \(sentence)")
        }
        for status in [400, 404, 405, 413, 415, 429, 500, 503, 418] {
            let problem = PageProblem.from(
                APIError(HTTPResponse.Status(code: status), "x", headers: [.retryAfter: "5"]))
            #expect(english.strings[problem.text.key] != nil, "\(status)")
        }
    }

    @Test("each reason Core gives for an address or a password has its own sentence, with its value")
    func reasonsAreWorded() async throws {
        let addresses = [
            "", "a\u{200B}b@example.com", "a b@example.com", "ab.example.com", "a@b@example.com",
            String(repeating: "a", count: 250) + "@example.com", "@example.com",
            String(repeating: "a", count: 65) + "@example.com", ".a@example.com", "a..b@example.com",
            "a(b)@example.com", "\"a\"@example.com", "a@", "a@[127.0.0.1]", "a@example.com.", "a@xn--zz.com",
            "a@localhost", "a@example.123", "a@" + String(repeating: "b", count: 64) + ".com", "a@exa_mple.com",
            "a@-example.com", "a@ab--cd.com",
        ]
        var keys: Set<String> = []
        for address in addresses {
            do {
                _ = try EmailAddress(address)
                Issue.record("\(address) was accepted")
            } catch {
                guard case .invalidEmail(let reason) = error else { throw error }
                let problem = PageProblem.from(error)
                #expect(problem.text.key != "problem.email.invalid", "\(address): \(reason)")
                #expect(english.strings[problem.text.key] != nil, "\(reason)")
                #expect(!english.text(problem.text).contains("{"), "\(reason)")
                keys.insert(problem.text.key)
            }
        }
        #expect(keys.count >= 15)
        #expect(
            english.text(PageProblem.from(AuthError.invalidEmail("email must be at most 254 bytes in UTF-8")).text)
                == "The address must be at most 254 bytes long.")
        #expect(
            english.text(
                PageProblem.from(
                    AuthError.invalidEmail(
                        "the part before the @ must not contain ( (quoted strings and comments are not accepted)")
                ).text)
                == "The part before the @ must not contain (.")
        // Passwords, through a registration and a change.
        let auth = try await Auth(
            store: InMemoryStore(), hasher: FastHasher(), policy: AuthPolicy(passwordMinLength: 8),
            logger: CapturedLog().logger)
        let passwords = ["", "short", "password", "a\u{7}bcdefghij", String(repeating: "x", count: 257)]
        var passwordKeys: [String] = []
        for password in passwords {
            do {
                _ = try await auth.registerUser(email: "ada@example.com", password: password)
                Issue.record("\(password) was accepted")
            } catch {
                let problem = PageProblem.from(error)
                #expect(problem.field == "new_password")
                passwordKeys.append(problem.text.key)
                #expect(!english.text(problem.text).contains("{"))
            }
        }
        #expect(
            passwordKeys == [
                "problem.password.empty", "problem.password.short", "problem.password.common",
                "problem.password.control", "problem.password.long",
            ])
        #expect(
            english.text(
                PageProblem.from(AuthError.invalidPassword("new_password must be at least 15 characters")).text)
                == "The password must be at least 15 characters long.")
        // A reason no shape knows gets its kind's general sentence, never Core's words.
        #expect(PageProblem.from(AuthError.invalidEmail("something new")).text.key == "problem.email.invalid")
        #expect(PageProblem.from(AuthError.invalidPassword("password is odd")).text.key == "problem.password.invalid")
        #expect(PageProblem.from(AuthError.invalidInput("odd")).text.key == "problem.request")
    }

    @Test("Accept-Language: quality values, a region falling back to its language, English otherwise")
    func languageChoice() {
        let available = ["en", "fr"]
        let cases: [(String?, String)] = [
            (nil, "en"), ("", "en"), ("fr", "fr"), ("FR", "fr"), ("fr-CA", "fr"), ("fr-Latn-CA", "fr"),
            ("de", "en"), ("de, fr;q=0.5", "fr"), ("en;q=0.5, fr;q=0.8", "fr"), ("fr;q=0.8, en;q=0.8", "fr"),
            ("en, fr", "en"), ("fr;q=0, en;q=0.1", "en"), ("fr;q=0", "en"), ("*", "en"), ("de, *;q=0.5", "en"),
            ("fr;q=abc, en;q=0.2", "en"), ("fr;q=2", "fr"), ("fr ; q=0.9 , en ; q=0.95", "en"),
            ("frx", "en"), ("f", "en"), (",,,", "en"), ("de-DE, fr-CH;q=0.9, en;q=0.8", "fr"),
            (String(repeating: "de,", count: 40) + "fr", "en"),
        ]
        for (header, expected) in cases {
            #expect(LanguageChoice.choose(header, available: available) == expected, "\(header ?? "nil")")
        }
    }

    @Test("a page in French: lang, Content-Language, its sentences; a problem and a date in French too")
    func frenchPages() async throws {
        let french = try Catalog(language: "fr", json: try #require(PageFiles.shipped["fr.json"]), file: "fr.json")
        try await withPages { browser, _ in
            let headers: HTTPFields = [.acceptLanguage: "fr-CA,fr;q=0.9,en;q=0.8"]
            let login = try await browser.send(.get, "/ui/login", headers: headers)
            #expect(login.text.contains("<html lang=\"fr\">"))
            #expect(login.headers[.contentLanguage] == "fr")
            #expect(login.headers[.vary] == "Accept-Language")
            #expect(login.text.contains("<h1>\(Self.html(french.text("login.title")))</h1>"))
            #expect(!login.text.contains(english.text("login.forgot")))
            let english = try await browser.send(.get, "/ui/login")
            #expect(english.text.contains("<html lang=\"en\">") && english.headers[.contentLanguage] == "en")
            _ = try await browser.send(
                .post, "/ui/register",
                form: [("csrf_token", browser.csrf), ("email", "ada@example.com"), ("password", "a long password")],
                headers: headers)
            let wrong = try await browser.send(
                .post, "/ui/login",
                form: [("csrf_token", browser.csrf), ("email", "ada@example.com"), ("password", "wrong")],
                headers: headers)
            #expect(wrong.status == .unauthorized)
            #expect(wrong.text.contains(Self.html(french.text("problem.credentials"))))
            _ = try await browser.send(
                .post, "/ui/login",
                form: [("csrf_token", browser.csrf), ("email", "ada@example.com"), ("password", "a long password")],
                headers: headers)
            let account = try await browser.send(.get, "/ui/account", headers: headers)
            #expect(account.text.contains(Self.html(french.text("activity.registered"))))
            #expect(account.text.contains(" UTC"))
            #expect(french.months.contains { account.text.contains(" \(Self.html($0)) ") })
            let missing = try await browser.send(.get, "/ui/nowhere", headers: headers)
            #expect(missing.status == .notFound && missing.text.contains(Self.html(french.text("error.404"))))
        }
    }

    @Test("a French date and device read as French")
    func frenchWords() throws {
        let french = try Catalog(language: "fr", json: try #require(PageFiles.shipped["fr.json"]), file: "fr.json")
        #expect(Pages.when(Date(timeIntervalSince1970: 1_796_669_760), french).hasPrefix("7 \(french.months[11]) 2026"))
        #expect(Pages.device("Mozilla/5.0 (X11; Linux x86_64) Firefox/133.0", french).contains("Firefox"))
        #expect(Pages.device(nil, french) == french.text("account.unknown-device"))
    }

    /// A sentence as the pages write it: escaped for HTML.
    static func html(_ text: String) -> String {
        HTMLEscaping().escapeText(text)
    }

    /// The values of `attribute="..."` in a template.
    static func values(of attribute: String, in text: String) -> [String] {
        text.components(separatedBy: " \(attribute)=\"").dropFirst().map {
            String($0.prefix { $0 != "\"" })
        }
    }

    /// `text` without everything from `open` to `close`.
    static func removing(from open: String, to close: String, in text: String) -> String {
        var result = ""
        var rest = text[...]
        while let start = rest.range(of: open) {
            result += rest[..<start.lowerBound]
            guard let end = rest[start.upperBound...].range(of: close) else { return result }
            rest = rest[end.upperBound...]
        }
        return result + rest
    }
}
