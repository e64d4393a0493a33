import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import LatchkeyCore
import LatchkeyHTTP
import LatchkeyTestSupport
import Testing

@testable import LatchkeyUI

@Suite("Pages: the portal's return addresses and step-up")
struct PortalPagesTests {
    static let app = "https://app.example.com/docs?x=1"

    static var options: HTTPOptions {
        var options = HTTPOptions()
        options.redirectRule = RedirectRule(
            hosts: ["app.example.com", ".example.org:8443"].compactMap(AllowedRedirectHost.init),
            allowsPlainHTTP: false)
        return options
    }

    static func encoded(_ text: String) -> String {
        text.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? ""
    }

    static let policy = HTTPField.Name("Content-Security-Policy")!

    @Test("the login carries an allowed rd, lists the allowed origins in form-action, and returns there")
    func loginReturns() async throws {
        try await withPages(options: Self.options) { browser, auth in
            _ = try await auth.registerUser(email: "ada@example.com", password: "b4l0u")
            let page = try await browser.send(.get, "/ui/login?rd=\(Self.encoded(Self.app))")
            #expect(page.text.contains(#"<input type="hidden" name="rd" value="https://app.example.com/docs?x=1">"#))
            #expect(
                page.headers[Self.policy]
                    == "default-src 'self'; form-action 'self' https://app.example.com https://example.org:8443 https://*.example.org:8443; frame-ancestors 'none'"
            )
            // Pages whose forms never leave keep the plain policy.
            let register = try await browser.send(.get, "/ui/register")
            #expect(register.headers[Self.policy] == HTMLResponse.contentSecurityPolicy)
            let wrong = try await browser.send(
                .post, "/ui/login",
                form: [("csrf_token", browser.csrf), ("email", "ada@example.com"), ("password", "x"), ("rd", Self.app)])
            #expect(wrong.status == .unauthorized && wrong.text.contains(#"name="rd" value="https://app.example.com"#))
            // A form refused as expired is shown again with its rd, so the next try still returns.
            let expired = try await browser.send(
                .post, "/ui/login",
                form: [("csrf_token", "stale"), ("email", "ada@example.com"), ("password", "b4l0u"), ("rd", Self.app)])
            #expect(expired.status == .forbidden)
            #expect(expired.text.contains(#"name="rd" value="https://app.example.com/docs?x=1""#))
            let loggingOut = try await browser.send(
                .post, "/ui/logout", form: [("csrf_token", "stale"), ("rd", Self.app)])
            #expect(loggingOut.status == .forbidden)
            #expect(loggingOut.text.contains(#"name="rd" value="https://app.example.com/docs?x=1""#))
            let done = try await browser.send(
                .post, "/ui/login",
                form: [
                    ("csrf_token", browser.csrf), ("email", "ada@example.com"), ("password", "b4l0u"), ("rd", Self.app),
                ])
            #expect(done.status == .seeOther && done.headers[.location] == Self.app)
        }
    }

    @Test("a return address the rule refuses is dropped: the page has no rd, and the login goes to the account")
    func refusedReturns() async throws {
        try await withPages(options: Self.options) { browser, auth in
            _ = try await auth.registerUser(email: "ada@example.com", password: "b4l0u")
            for trick in [
                "//evil.example", "https://app.example.com@evil.example/", "javascript:alert(1)",
                "http://app.example.com/", "/ui/account", "https://evil.example/",
            ] {
                let page = try await browser.send(.get, "/ui/login?rd=\(Self.encoded(trick))")
                #expect(!page.text.contains(#"name="rd""#), "\(trick)")
                let done = try await browser.send(
                    .post, "/ui/login",
                    form: [
                        ("csrf_token", browser.csrf), ("email", "ada@example.com"), ("password", "b4l0u"),
                        ("rd", trick),
                    ])
                #expect(done.headers[.location] == "/ui/account", "\(trick)")
            }
        }
    }

    @Test("GET /ui/logout?rd= shows a button; its POST ends the session and returns to rd")
    func logoutReturns() async throws {
        try await withPages(options: Self.options) { browser, auth in
            _ = try await auth.registerUser(email: "ada@example.com", password: "b4l0u")
            _ = try await browser.submit(
                "/ui/login", to: "/ui/login", [("email", "ada@example.com"), ("password", "b4l0u")])
            let page = try await browser.send(.get, "/ui/logout?rd=\(Self.encoded(Self.app))")
            #expect(page.status == .ok && page.text.contains(#"<form method="post" action="/ui/logout">"#))
            #expect(page.text.contains(#"name="rd" value="https://app.example.com/docs?x=1""#))
            #expect(page.headers[Self.policy]?.contains("https://app.example.com") == true)
            let out = try await browser.send(
                .post, "/ui/logout", form: [("csrf_token", browser.csrf), ("rd", Self.app)])
            #expect(out.status == .seeOther && out.headers[.location] == Self.app)
            #expect(try await browser.send(.get, "/ui/account").headers[.location] == "/ui/login")
            let plain = try await browser.send(
                .post, "/ui/logout", form: [("csrf_token", browser.csrf), ("rd", "//evil.example")])
            #expect(plain.headers[.location] == "/ui/login?logged_out")
        }
    }

    @Test(
        "with SESSION_COOKIE_DOMAIN, logging out clears the domain's cookie and a host-only one, and ends both sessions"
    )
    func logoutWithDomain() async throws {
        var options = Self.options
        options.sessionCookieDomain = "example.com"
        try await withPages(options: options) { browser, auth in
            _ = try await auth.registerUser(email: "ada@example.com", password: "b4l0u")
            let first = try await auth.createSession(for: auth.validLogin(email: "ada@example.com", password: "b4l0u"))
            let second = try await auth.createSession(for: auth.validLogin(email: "ada@example.com", password: "b4l0u"))
            _ = try await browser.send(.get, "/ui/logout")
            // Two cookies of one name (the domain's and a host-only one), as a browser sends them.
            let out = try await browser.client.execute(
                uri: "/ui/logout", method: .post,
                headers: [
                    .cookie: "session_id=\(first); session_id=\(second); latchkey_csrf=\(browser.csrf)",
                    .contentType: "application/x-www-form-urlencoded",
                ],
                body: ByteBuffer(string: "csrf_token=\(browser.csrf)"))
            #expect(
                out.headers[values: .setCookie] == [
                    "session_id=; Max-Age=0; Path=/; Domain=example.com; HttpOnly; SameSite=Lax",
                    "session_id=; Max-Age=0; Path=/; HttpOnly; SameSite=Lax",
                ])
            for token in [first, second] {
                await #expect(throws: AuthError.invalidSession) {
                    _ = try await auth.authenticatedSession(token: token)
                }
            }
        }
    }

    @Test("step-up: a one-factor session gives a code and returns at level 2; without a factor, a page, never a loop")
    func stepUp() async throws {
        let store = InMemoryStore()
        try await withPages(policy: try SecondFactorPagesTests.policy(), store: store, options: Self.options) {
            browser, auth in
            let (_, key) = try await SecondFactorPagesTests.accountWithFactor(auth)
            let user = try #require(try await store.findUser(by: .email("ada@example.com")))
            // A one-factor session of an account with a factor (a session from before it, kept).
            let token = SecretToken.generate()
            try await store.addSessions([
                Session(
                    tokenDigest: TokenDigest(of: token), userID: user.id, createdAt: Date(), lastSeenAt: Date(),
                    expiresAt: Date().addingTimeInterval(3600))
            ])
            browser.cookies["session_id"] = token
            let path = "/ui/login?rd=\(Self.encoded(Self.app))&aal=2"
            let page = try await browser.send(.get, path)
            #expect(page.text.contains(#"<form method="post" action="/ui/login/step-up" novalidate>"#))
            #expect(page.headers[Self.policy]?.contains("https://app.example.com") == true)
            let wrong = try await browser.send(
                .post, "/ui/login/step-up", form: [("csrf_token", browser.csrf), ("code", "000000"), ("rd", Self.app)])
            #expect(wrong.status == .unauthorized && wrong.text.contains(#"id="code-error""#))
            let raised = try await browser.send(
                .post, "/ui/login/step-up",
                form: [
                    ("csrf_token", browser.csrf), ("code", TOTP.code(secret: key, at: Date().addingTimeInterval(30))),
                    ("rd", Self.app),
                ])
            #expect(raised.status == .seeOther && raised.headers[.location] == Self.app)
            let newToken = try #require(browser.cookies["session_id"])
            #expect(newToken != token)
            let session = try await auth.authenticatedSession(token: newToken)
            #expect(session.aal == 2)
            #expect(try await auth.activity(sessionToken: newToken).first?.kind == .steppedUp)
            await #expect(throws: AuthError.invalidSession) { _ = try await auth.authenticatedSession(token: token) }
            // At level 2 already, the POST checks no code (none is spent) and goes back.
            let again = try await browser.send(
                .post, "/ui/login/step-up",
                form: [("csrf_token", browser.csrf), ("code", "not a code"), ("rd", Self.app)])
            #expect(again.status == .seeOther && again.headers[.location] == Self.app)
            #expect(browser.cookies["session_id"] == newToken)
            // At level 2 already: straight back.
            #expect(try await browser.send(.get, path).headers[.location] == Self.app)
        }
        try await withPages(options: Self.options) { browser, auth in
            _ = try await auth.registerUser(email: "bob@example.com", password: "b4l0u")
            _ = try await browser.submit(
                "/ui/login", to: "/ui/login", [("email", "bob@example.com"), ("password", "b4l0u")])
            let page = try await browser.send(.get, "/ui/login?rd=\(Self.encoded(Self.app))&aal=2")
            #expect(page.status == .ok && !page.text.contains("/ui/login/step-up"))
            #expect(page.text.contains(LanguageTests.html(english.text("stepup.verify-first"))))
            #expect(page.text.contains(#"<a href="/ui/account">"#))
            // Without a session, aal=2 is the login form.
            browser.cookies["session_id"] = nil
            let login = try await browser.send(.get, "/ui/login?rd=\(Self.encoded(Self.app))&aal=2")
            #expect(login.text.contains(#"action="/ui/login""#))
        }
    }
}
