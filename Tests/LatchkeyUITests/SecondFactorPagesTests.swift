import Foundation
import HTTPTypes
import LatchkeyCore
import LatchkeyTestSupport
import Testing

@testable import LatchkeyUI

@Suite("Pages: the second factor")
struct SecondFactorPagesTests {
    static func policy() throws -> AuthPolicy {
        var policy = AuthPolicy()
        policy.secondFactorKeyring = try SecondFactorKeyring(current: Data(repeating: 7, count: 32))
        return policy
    }

    /// A field's value in a page: `name="<name>" value="<value>"`.
    static func value(of name: String, in html: String) -> String? {
        guard let start = html.range(of: #"name="\#(name)" value=""#)?.upperBound else { return nil }
        return String(html[start...].prefix { $0 != "\"" })
    }

    @Test("enrol from the account page: the QR code, the key in groups, the codes shown once; then turn it off")
    func enrolment() async throws {
        try await withPages(policy: try Self.policy()) { browser, auth in
            let account = try await auth.registerUser(email: "ada@example.com", password: "b4l0u")
            _ = try await browser.submit(
                "/ui/login", to: "/ui/login", [("email", "ada@example.com"), ("password", "b4l0u")])
            var page = try await browser.send(.get, "/ui/account")
            #expect(
                page.text.contains("Verify your address first") && !page.text.contains(#"action="/ui/account/factor""#))
            let early = try await browser.send(
                .post, "/ui/account/factor", form: [("csrf_token", browser.csrf), ("password", "b4l0u")])
            #expect(early.status == .conflict)
            _ = try await auth.markVerified(email: account.email)
            page = try await browser.send(.get, "/ui/account")
            #expect(page.text.contains(#"action="/ui/account/factor""#))
            let wrongPassword = try await browser.send(
                .post, "/ui/account/factor", form: [("csrf_token", browser.csrf), ("password", "nope")])
            #expect(
                wrongPassword.status == .unauthorized && wrongPassword.text.contains(#"id="factor-password-error""#))
            let enrol = try await browser.send(
                .post, "/ui/account/factor", form: [("csrf_token", browser.csrf), ("password", "b4l0u")])
            #expect(enrol.status == .ok)
            let html = enrol.text
            let secret = try #require(Self.value(of: "secret", in: html))
            let keyURI = try #require(Self.value(of: "key_uri", in: html)).replacingOccurrences(of: "&amp;", with: "&")
            #expect(keyURI.hasPrefix("otpauth://totp/") && keyURI.contains("secret=\(secret)"))
            let code = try #require(QRCode(text: keyURI))
            #expect(html.contains(#"<svg class="qr""#) && html.contains(#"d="\#(code.pathData)""#))
            #expect(html.contains(#"viewBox="0 0 \#(code.side) \#(code.side)""#) && !html.contains("style="))
            let grouped = stride(from: 0, to: secret.count, by: 4).map { String(secret.dropFirst($0).prefix(4)) }
            #expect(html.contains(grouped.joined(separator: " ")))
            #expect(html.contains(#"autocomplete="one-time-code""#))
            let key = Data(try secret.base32decoded())
            // A wrong code: the same page again, with the problem next to the field.
            let wrong = try await browser.send(
                .post, "/ui/account/factor/confirm",
                form: [("csrf_token", browser.csrf), ("secret", secret), ("key_uri", keyURI), ("code", "000000")])
            #expect(wrong.status == .unauthorized && wrong.text.contains(#"id="code-error""#))
            #expect(wrong.text.contains(#"d="\#(code.pathData)""#))
            let before = browser.cookies["session_id"]
            let confirmed = try await browser.send(
                .post, "/ui/account/factor/confirm",
                form: [
                    ("csrf_token", browser.csrf), ("secret", secret), ("key_uri", keyURI),
                    ("code", TOTP.code(secret: key, at: Date())),
                ])
            #expect(confirmed.status == .ok && browser.cookies["session_id"] != before)
            let codes = confirmed.text.matches(of: /<li><code>([^<]+)<\/code><\/li>/).map { String($0.1) }
            #expect(codes.count == 10 && confirmed.text.contains("This is the only time they are shown"))
            page = try await browser.send(.get, "/ui/account")
            #expect(page.status == .ok && page.text.contains("On: logging in asks for a code"))
            // New recovery codes: the password and a code; the old codes stop working.
            let renewed = try await browser.send(
                .post, "/ui/account/factor/recovery-codes",
                form: [("csrf_token", browser.csrf), ("password", "b4l0u"), ("code", codes[0])])
            let newCodes = renewed.text.matches(of: /<li><code>([^<]+)<\/code><\/li>/).map { String($0.1) }
            #expect(renewed.status == .ok && newCodes.count == 10 && Set(newCodes).isDisjoint(with: codes))
            let stale = try await browser.send(
                .post, "/ui/account/factor/delete",
                form: [("csrf_token", browser.csrf), ("password", "b4l0u"), ("code", codes[1])])
            #expect(stale.status == .unauthorized)
            let off = try await browser.send(
                .post, "/ui/account/factor/delete",
                form: [("csrf_token", browser.csrf), ("password", "b4l0u"), ("code", newCodes[0])])
            #expect(off.status == .seeOther && off.headers[.location] == "/ui/account?done=factor-off")
            #expect(
                try await auth.account(sessionToken: browser.cookies["session_id"] ?? "").secondFactorEnabled == false)
        }
    }

    @Test("the login asks for the code after the password: a wrong one next to the field, then a session")
    func codeStep() async throws {
        try await withPages(policy: try Self.policy()) { browser, auth in
            let (confirmed, key) = try await Self.accountWithFactor(auth)
            let codes = confirmed.recoveryCodes
            let step = try await browser.submit(
                "/ui/login", to: "/ui/login", [("email", "ada@example.com"), ("password", "b4l0u")])
            #expect(step.status == .ok && browser.cookies["session_id"] == nil)
            let challenge = try #require(Self.value(of: "challenge", in: step.text))
            #expect(step.text.contains(#"autocomplete="one-time-code""#))
            let wrong = try await browser.send(
                .post, "/ui/login/code",
                form: [("csrf_token", browser.csrf), ("challenge", challenge), ("code", "123456")])
            #expect(wrong.status == .unauthorized && wrong.text.contains(#"id="code-error""#))
            #expect(Self.value(of: "challenge", in: wrong.text) == challenge)
            let malformed = try await browser.send(
                .post, "/ui/login/code", form: [("csrf_token", browser.csrf), ("challenge", challenge), ("code", "12")])
            #expect(malformed.status == .badRequest && malformed.text.contains(#"id="code-error""#))
            let done = try await browser.send(
                .post, "/ui/login/code",
                form: [
                    ("csrf_token", browser.csrf), ("challenge", challenge),
                    ("code", TOTP.code(secret: key, at: Date().addingTimeInterval(30))),
                ])
            #expect(done.status == .seeOther && done.headers[.location] == "/ui/account")
            #expect(browser.cookies["session_id"] != nil)
            // The challenge made its one session.
            let again = try await browser.send(
                .post, "/ui/login/code",
                form: [("csrf_token", browser.csrf), ("challenge", challenge), ("code", codes[0])])
            #expect(again.status == .unauthorized && again.text.contains("Log in again"))
            // A recovery code works in the code step too.
            browser.cookies.removeValue(forKey: "session_id")
            let second = try await browser.submit(
                "/ui/login", to: "/ui/login", [("email", "ada@example.com"), ("password", "b4l0u")])
            let other = try #require(Self.value(of: "challenge", in: second.text))
            let recovered = try await browser.send(
                .post, "/ui/login/code", form: [("csrf_token", browser.csrf), ("challenge", other), ("code", codes[1])])
            #expect(recovered.status == .seeOther && browser.cookies["session_id"] != nil)
        }
    }

    @Test("wrong codes in the code step are throttled: the page says how long to wait, with Retry-After")
    func throttledCodeStep() async throws {
        var policy = try Self.policy()
        policy.secondFactorThrottle = FailureThrottle(maxFailures: 2)
        try await withPages(policy: policy) { browser, auth in
            _ = try await Self.accountWithFactor(auth)
            let step = try await browser.submit(
                "/ui/login", to: "/ui/login", [("email", "ada@example.com"), ("password", "b4l0u")])
            let challenge = try #require(Self.value(of: "challenge", in: step.text))
            var last = step
            for _ in 0..<3 {
                last = try await browser.send(
                    .post, "/ui/login/code",
                    form: [("csrf_token", browser.csrf), ("challenge", challenge), ("code", "000000")])
            }
            #expect(last.status == .tooManyRequests)
            let wait = try #require(last.headers[.retryAfter])
            #expect(last.text.contains("Too many attempts. Try again in \(wait) seconds."))
            #expect(Self.value(of: "challenge", in: last.text) == challenge)
        }
    }

    @Test("a key URI longer than a QR code holds is shown as the key and the link alone")
    func tooLongForACode() {
        let long = "otpauth://totp/x?secret=ABCD&issuer=" + String(repeating: "y", count: QRCode.capacity)
        let values = Pages.enrolmentValues(secret: "ABCDEFGHIJ", keyURI: long)
        #expect(values["qr"] == nil && values["grouped"] as? String == "ABCD EFGH IJ")
        #expect(Pages.enrolmentValues(secret: "ABCD", keyURI: "otpauth://totp/x?secret=ABCD")["qr"] != nil)
    }

    /// A verified account, ada@example.com, with an active factor: the confirmation (its recovery
    /// codes and session) and the key.
    static func accountWithFactor(_ auth: Auth) async throws -> (confirmed: ConfirmedTOTP, key: Data) {
        let account = try await auth.registerUser(email: "ada@example.com", password: "b4l0u")
        _ = try await auth.markVerified(email: account.email)
        let token = try await auth.createSession(for: auth.validLogin(email: "ada@example.com", password: "b4l0u"))
        let enrolment = try await auth.beginTOTPEnrolment(
            session: auth.authenticatedSession(token: token), password: "b4l0u", origin: SessionOrigin())
        let key = Data(try enrolment.secret.base32decoded())
        let confirmed = try await auth.confirmTOTPEnrolment(
            session: auth.authenticatedSession(token: token), code: TOTP.code(secret: key, at: Date()),
            origin: SessionOrigin())
        return (confirmed, key)
    }
}
