import ExtrasBase64
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import LatchkeyCore
import LatchkeyHTTP
import LatchkeyTestSupport
import NIOCore
import Testing

@testable import LatchkeyUI

/// The shipped English catalog.
let english = PageRenderer.shippedEnglish

/// The pages over the real routes, as a browser with JavaScript off uses them: it keeps its
/// cookies and sends each form with the fields the page gave it.
struct Browser {
    let client: any TestClientProtocol
    var cookies: [String: String] = [:]

    /// Sends a request with the browser's cookies and keeps the ones the answer sets.
    mutating func send(
        _ method: HTTPRequest.Method, _ path: String, form fields: [(String, String)]? = nil,
        headers extra: HTTPFields = [:]
    ) async throws -> TestResponse {
        var headers = extra
        if !cookies.isEmpty {
            headers[.cookie] = cookies.map { "\($0.key)=\($0.value)" }.sorted().joined(separator: "; ")
        }
        var body: ByteBuffer?
        if let fields {
            var allowed = CharacterSet.alphanumerics
            allowed.insert(charactersIn: "-._~")
            let text = fields.map {
                "\($0.0)=\($0.1.addingPercentEncoding(withAllowedCharacters: allowed) ?? "")"
            }.joined(separator: "&")
            headers[.contentType] = "application/x-www-form-urlencoded"
            body = ByteBuffer(string: text)
        }
        let response = try await client.execute(uri: path, method: method, headers: headers, body: body)
        for field in response.headers[values: .setCookie] {
            let pair = field.split(separator: ";")[0].split(separator: "=", maxSplits: 1)
            let name = String(pair[0])
            let value = pair.count > 1 ? String(pair[1]) : ""
            if value.isEmpty || field.lowercased().contains("max-age=0") {
                cookies.removeValue(forKey: name)
            } else {
                cookies[name] = value
            }
        }
        return response
    }

    /// The CSRF token the pages' forms carry: the browser's cookie.
    var csrf: String { cookies["latchkey_csrf"] ?? "" }

    /// Opens a page, then posts its form with `fields` and the CSRF token.
    mutating func submit(_ page: String, to action: String, _ fields: [(String, String)]) async throws
        -> TestResponse
    {
        _ = try await send(.get, page)
        return try await send(.post, action, form: [("csrf_token", csrf)] + fields)
    }
}

extension TestResponse {
    var text: String { String(buffer: body) }
}

/// The service with its pages, in the development profile (`response` delivery).
func withPages(
    policy: AuthPolicy = AuthPolicy(), theme: PageTheme = PageTheme(), store: InMemoryStore = InMemoryStore(),
    options: HTTPOptions = HTTPOptions(), _ body: @escaping @Sendable (inout Browser, Auth) async throws -> Void
) async throws {
    let auth = try await Auth(store: store, hasher: FastHasher(), policy: policy, logger: CapturedLog().logger)
    var options = options
    let pages = try Pages(
        auth: auth, options: options, production: false, publicURL: "http://auth.example.localhost", theme: theme)
    options.errorPage = { pages.errorPage($0, for: $1) }
    let app = Application(
        router: buildRouter(auth: auth, options: options, pages: pages.routes), logger: CapturedLog().logger)
    try await app.test(.router) { client in
        var browser = Browser(client: client)
        try await body(&browser, auth)
    }
}

@Suite("Pages: forms over the same rules, with JavaScript off")
struct PagesTests {
    @Test("a page is HTML with the pages' headers, a CSRF cookie, and fields the browser can fill")
    func loginPage() async throws {
        try await withPages { browser, _ in
            let page = try await browser.send(.get, "/ui/login")
            #expect(page.status == .ok)
            #expect(page.headers[.contentType] == "text/html; charset=utf-8")
            #expect(
                page.headers[HTTPField.Name("Content-Security-Policy")!]
                    == "default-src 'self'; form-action 'self'; frame-ancestors 'none'")
            #expect(page.headers[HTTPField.Name("Referrer-Policy")!] == "no-referrer")
            #expect(SecretToken.isWellFormed(browser.csrf))
            let html = page.text
            #expect(html.contains(#"type="text" inputmode="email" autocomplete="username""#))
            #expect(html.contains(#"autocomplete="current-password""#))
            #expect(html.contains(#"name="csrf_token" value="\#(browser.csrf)""#))
            #expect(!html.contains("<script") && !html.contains("style="))
            let css = try await browser.send(.get, "/ui/static/style.css")
            #expect(css.status == .ok && css.headers[.contentType] == "text/css; charset=utf-8")
        }
    }

    @Test("register, log in, see the account, log out: each form posts and redirects with 303")
    func registerLogInLogOut() async throws {
        try await withPages { browser, _ in
            let registered = try await browser.submit(
                "/ui/register", to: "/ui/register", [("email", "Ada@Example.com"), ("password", "b4l0u")])
            #expect(registered.status == .seeOther && registered.headers[.location] == "/ui/login?registered")
            #expect(browser.cookies["session_id"] == nil)  // registering never logs in
            let wrong = try await browser.submit(
                "/ui/login", to: "/ui/login", [("email", "ada@example.com"), ("password", "nope")])
            #expect(wrong.status == .unauthorized)
            #expect(
                wrong.text.contains(
                    #"<p class="field-error" role="alert" id="password-error">Wrong email or password.</p>"#))
            #expect(wrong.text.contains(#"value="ada@example.com""#))
            let loggedIn = try await browser.submit(
                "/ui/login", to: "/ui/login", [("email", "ada@example.com"), ("password", "b4l0u")])
            #expect(loggedIn.status == .seeOther && loggedIn.headers[.location] == "/ui/account")
            #expect(browser.cookies["session_id"] != nil)
            let account = try await browser.send(.get, "/ui/account")
            #expect(account.status == .ok && account.text.contains("ada@example.com · not verified yet"))
            let out = try await browser.send(.post, "/ui/logout", form: [("csrf_token", browser.csrf)])
            #expect(out.status == .seeOther && out.headers[.location] == "/ui/login?logged_out")
            #expect(browser.cookies["session_id"] == nil)
            let gone = try await browser.send(.get, "/ui/account")
            #expect(gone.status == .seeOther && gone.headers[.location] == "/ui/login")
        }
    }

    @Test("a taken address is shown next to its field in development; a weak password next to its own")
    func registerProblems() async throws {
        var policy = AuthPolicy()
        policy.passwordMinLength = 8
        try await withPages(policy: policy) { browser, _ in
            _ = try await browser.submit(
                "/ui/register", to: "/ui/register", [("email", "ada@example.com"), ("password", "long-enough")])
            let taken = try await browser.submit(
                "/ui/register", to: "/ui/register", [("email", "ada@example.com"), ("password", "long-enough")])
            #expect(taken.status == .badRequest)
            #expect(taken.text.contains(#"id="email-error">This address already has an account.</p>"#))
            let weak = try await browser.submit(
                "/ui/register", to: "/ui/register", [("email", "bob@example.com"), ("password", "short")])
            #expect(weak.status == .badRequest)
            #expect(weak.text.contains(#"id="password-error">The password must be at least 8 characters long.</p>"#))
        }
    }

    @Test("a form without its CSRF token, with another, or from another site is refused, in both profiles")
    func forgery() async throws {
        try await withPages { browser, auth in
            _ = try await auth.registerUser(email: "ada@example.com", password: "b4l0u")
            _ = try await browser.send(.get, "/ui/login")
            let login = [("email", "ada@example.com"), ("password", "b4l0u")]
            for (fields, headers) in [
                (login, HTTPFields()),
                ([("csrf_token", SecretToken.generate())] + login, HTTPFields()),
                ([("csrf_token", browser.csrf)] + login, [.secFetchSite: "cross-site"]),
                ([("csrf_token", browser.csrf)] + login, [.secFetchSite: "same-site"]),
                ([("csrf_token", browser.csrf)] + login, [.origin: "http://evil.example"]),
                ([("csrf_token", browser.csrf)] + login, [.origin: "null"]),
            ] as [([(String, String)], HTTPFields)] {
                let refused = try await browser.send(.post, "/ui/login", form: fields, headers: headers)
                #expect(refused.status == .forbidden, "\(headers)")
                #expect(refused.headers[.contentType] == "text/html; charset=utf-8")
                #expect(browser.cookies["session_id"] == nil)
            }
            // The pages' own form under no-referrer: Origin null, same-origin.
            let own = try await browser.send(
                .post, "/ui/login", form: [("csrf_token", browser.csrf)] + login,
                headers: [.origin: "null", .secFetchSite: "same-origin"])
            #expect(own.status == .seeOther)
        }
    }

    @Test("every error under /ui is an HTML page; the API's stay JSON")
    func errorPages() async throws {
        try await withPages { browser, _ in
            let missing = try await browser.send(.get, "/ui/nowhere")
            #expect(missing.status == .notFound && missing.headers[.contentType] == "text/html; charset=utf-8")
            #expect(missing.text.contains("Page not found"))
            let method = try await browser.send(.delete, "/ui/login")
            #expect(method.status == .methodNotAllowed && method.text.contains("<html"))
            let unsupported = try await browser.send(
                .post, "/ui/login", headers: [.contentType: "text/plain"])
            #expect(unsupported.headers[.contentType] == "text/html; charset=utf-8")
            let api = try await browser.send(.get, "/nowhere")
            #expect(api.status == .notFound && api.headers[.contentType] == "application/json")
        }
    }

    @Test("a forgotten password: the link shown in development, the reset page posts the token, once")
    func forgotAndReset() async throws {
        try await withPages { browser, auth in
            _ = try await auth.registerUser(email: "ada@example.com", password: "b4l0u")
            let asked = try await browser.submit("/ui/forgot", to: "/ui/forgot", [("email", "ada@example.com")])
            #expect(asked.status == .ok)
            let prefix = "http://auth.example.localhost/ui/reset?email=ada%40example.com&amp;token="
            let range = try #require(asked.text.range(of: prefix))
            let token = String(asked.text[range.upperBound...].prefix(43))
            #expect(SecretToken.isWellFormed(token))
            // Opening the link twice consumes nothing.
            for _ in 0..<2 {
                let opened = try await browser.send(.get, "/ui/reset?email=ada%40example.com&token=\(token)")
                #expect(opened.status == .ok && opened.text.contains(#"name="token" value="\#(token)""#))
            }
            let reset = try await browser.send(
                .post, "/ui/reset",
                form: [
                    ("csrf_token", browser.csrf), ("email", "ada@example.com"), ("token", token),
                    ("new_password", "t4rt1fl3tt3"),
                ])
            #expect(reset.status == .seeOther && reset.headers[.location] == "/ui/login?reset")
            let again = try await browser.send(
                .post, "/ui/reset",
                form: [
                    ("csrf_token", browser.csrf), ("email", "ada@example.com"), ("token", token),
                    ("new_password", "another-one"),
                ])
            #expect(again.status == .forbidden && again.text.contains("This link is no longer valid"))
            #expect(await attemptLogIn(auth, "ada@example.com", "t4rt1fl3tt3"))
        }
    }

    @Test("verifying the address from the account page's link, with the password chosen")
    func verifyFromTheAccountPage() async throws {
        try await withPages { browser, auth in
            _ = try await browser.submit(
                "/ui/register", to: "/ui/register", [("email", "ada@example.com"), ("password", "b4l0u")])
            _ = try await browser.submit(
                "/ui/login", to: "/ui/login", [("email", "ada@example.com"), ("password", "b4l0u")])
            let sent = try await browser.send(
                .post, "/ui/account/verification", form: [("csrf_token", browser.csrf)])
            #expect(sent.status == .ok && sent.text.contains("Development: the link the mail would carry"))
            let prefix = "/ui/verify?email=ada%40example.com&amp;token="
            let range = try #require(sent.text.range(of: prefix))
            let token = String(sent.text[range.upperBound...].prefix(43))
            let page = try await browser.send(.get, "/ui/verify?email=ada%40example.com&token=\(token)")
            #expect(page.text.contains(#"autocomplete="new-password""#))
            let verified = try await browser.send(
                .post, "/ui/verify",
                form: [
                    ("csrf_token", browser.csrf), ("email", "ada@example.com"), ("token", token), ("password", "b4l0u"),
                ])
            #expect(verified.status == .ok && verified.text.contains("ada@example.com is verified."))
            let account = try await browser.send(.get, "/ui/account")
            #expect(account.text.contains("ada@example.com · verified"))
        }
    }

    @Test("the account page's actions ask for the password; a wrong one is shown next to its field")
    func accountActions() async throws {
        try await withPages { browser, auth in
            _ = try await auth.registerUser(email: "ada@example.com", password: "b4l0u")
            let other = try await auth.createSession(for: auth.validLogin(email: "ada@example.com", password: "b4l0u"))
            _ = try await browser.submit(
                "/ui/login", to: "/ui/login", [("email", "ada@example.com"), ("password", "b4l0u")])
            let wrong = try await browser.send(
                .post, "/ui/account/sessions/end-others", form: [("csrf_token", browser.csrf), ("password", "nope")])
            #expect(
                wrong.status == .unauthorized && wrong.text.contains(#"id="sessions-error">That is not your password."#)
            )
            let ended = try await browser.send(
                .post, "/ui/account/sessions/end-others", form: [("csrf_token", browser.csrf), ("password", "b4l0u")])
            #expect(ended.status == .seeOther && ended.headers[.location] == "/ui/account?done=sessions")
            await #expect(throws: AuthError.invalidSession) { _ = try await auth.user(forSessionToken: other) }
            let changed = try await browser.send(
                .post, "/ui/account/password",
                form: [("csrf_token", browser.csrf), ("current_password", "b4l0u"), ("new_password", "t4rt1fl3tt3")])
            #expect(changed.status == .seeOther && browser.cookies["session_id"] != nil)
            #expect(changed.headers[.location] == "/ui/account?done=password")
            let page = try await browser.send(.get, "/ui/account?done=password")
            #expect(page.status == .ok && page.text.contains("Your password is changed"))
            let deleted = try await browser.send(
                .post, "/ui/account/delete", form: [("csrf_token", browser.csrf), ("password", "t4rt1fl3tt3")])
            #expect(deleted.status == .seeOther && deleted.headers[.location] == "/ui/login?deleted")
            #expect(await attemptLogIn(auth, "ada@example.com", "t4rt1fl3tt3") == false)
        }
    }

    @Test("once a factor is active, the account page's actions ask for a code too, as the API does")
    func actionsWithAFactor() async throws {
        var policy = AuthPolicy()
        policy.secondFactorKeyring = try SecondFactorKeyring(current: Data(repeating: 7, count: 32))
        try await withPages(policy: policy) { browser, auth in
            let (confirmed, _) = try await SecondFactorPagesTests.accountWithFactor(auth)
            browser.cookies["session_id"] = confirmed.session.token
            let page = try await browser.send(.get, "/ui/account")
            #expect(page.text.components(separatedBy: #"autocomplete="one-time-code""#).count - 1 == 5)
            let without = try await browser.send(
                .post, "/ui/account/delete", form: [("csrf_token", browser.csrf), ("password", "b4l0u")])
            #expect(
                without.status == .unauthorized && without.text.contains("Give the code from your authenticator app"))
            let wrong = try await browser.send(
                .post, "/ui/account/delete",
                form: [("csrf_token", browser.csrf), ("password", "b4l0u"), ("code", "000000")])
            #expect(wrong.status == .unauthorized && wrong.text.contains("That code is not right."))
            let deleted = try await browser.send(
                .post, "/ui/account/delete",
                form: [("csrf_token", browser.csrf), ("password", "b4l0u"), ("code", confirmed.recoveryCodes[0])])
            #expect(deleted.status == .seeOther && deleted.headers[.location] == "/ui/login?deleted")
        }
    }

    @Test("a body over 64 KiB is an HTML page too")
    func tooLarge() async throws {
        try await withPages { browser, _ in
            _ = try await browser.send(.get, "/ui/login")
            let big = String(repeating: "x", count: 70 * 1024)
            let response = try await browser.send(
                .post, "/ui/login",
                form: [("csrf_token", browser.csrf), ("email", "ada@example.com"), ("password", big)])
            #expect(response.status == .contentTooLarge)
            #expect(response.headers[.contentType] == "text/html; charset=utf-8" && response.text.contains("<html"))
        }
    }

    @Test("a throttled login shows the wait, with Retry-After")
    func throttled() async throws {
        var policy = AuthPolicy()
        policy.loginThrottle = FailureThrottle(maxFailures: 1, firstWait: 60, maxWait: 60)
        try await withPages(policy: policy) { browser, auth in
            _ = try await auth.registerUser(email: "ada@example.com", password: "b4l0u")
            _ = try await browser.submit(
                "/ui/login", to: "/ui/login", [("email", "ada@example.com"), ("password", "x")])
            let waiting = try await browser.submit(
                "/ui/login", to: "/ui/login", [("email", "ada@example.com"), ("password", "b4l0u")])
            #expect(waiting.status == .tooManyRequests && waiting.headers[.retryAfter] != nil)
            #expect(waiting.text.contains("Too many attempts. Try again in"))
        }
    }
}

@Suite("Pages: the pieces")
struct PagePiecesTests {
    @Test("devices are named as people name them")
    func devices() {
        let agents = [
            (
                "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36",
                "Chrome on Windows"
            ),
            ("Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0", "Firefox on Linux"),
            (
                "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 Version/18.1 Safari/604.1",
                "Safari on iOS"
            ),
            (
                "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 Chrome/131.0 Safari/537.36 Edg/131.0",
                "Edge on macOS"
            ),
            ("Phone/2.0", "Phone/2.0"), ("curl/8.5.0", "curl/8.5.0"), ("", "An unknown device"),
        ]
        for (agent, name) in agents {
            #expect(Pages.device(agent, english) == name, "\(agent)")
        }
    }

    @Test("times are shown in UTC as people read them")
    func times() {
        #expect(Pages.when(Date(timeIntervalSince1970: 1_796_669_760), english) == "7 Dec 2026, 18:56 UTC")
        #expect(Pages.when(Date(timeIntervalSince1970: 0), english) == "1 Jan 1970, 00:00 UTC")
        #expect(Pages.when(Date(timeIntervalSince1970: 951_782_400), english) == "29 Feb 2000, 00:00 UTC")
        #expect(Pages.when(Date(timeIntervalSince1970: 4_107_542_399), english) == "28 Feb 2100, 23:59 UTC")
        #expect(Pages.when(Date(timeIntervalSince1970: -1), english) == "31 Dec 1969, 23:59 UTC")
        // Every day of four years, against Foundation's calendar.
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        for day in stride(from: 1_700_000_000.0, to: 1_700_000_000.0 + 4 * 366 * 86_400, by: 86_400 + 61) {
            let date = Date(timeIntervalSince1970: day)
            let parts = calendar.dateComponents([.year, .month, .day, .hour, .minute], from: date)
            let expected =
                "\(parts.day!) \(months[parts.month! - 1]) \(parts.year!), "
                + String(format: "%02d:%02d UTC", parts.hour!, parts.minute!)
            #expect(Pages.when(date, english) == expected)
        }
    }
}

/// Whether `password` logs in to `email`.
func attemptLogIn(_ auth: Auth, _ email: String, _ password: String) async -> Bool {
    (try? await auth.validLogin(email: email, password: password)) != nil
}
