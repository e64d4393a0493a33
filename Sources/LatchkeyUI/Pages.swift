import Foundation
import HTTPTypes
import Hummingbird
import LatchkeyCore
import LatchkeyHTTP

/// The pages a person uses an account through, under `/ui`: plain HTML forms that work with
/// JavaScript off, rendered on the server. Each page handler calls the same `Auth` entry point as
/// its API twin and switches over the outcome; no rule is written here (docs/decisions/0023).
public struct Pages: Sendable {
    let auth: Auth
    let options: HTTPOptions
    let renderer: PageRenderer
    let csrf: CSRFGuard
    /// The service's own URL, which the links in pages are built from (`PUBLIC_URL`).
    let publicURL: String?

    /// Creates the pages.
    /// - Parameters:
    ///   - auth: The rules.
    ///   - options: The HTTP settings the API uses too (cookie, proxies, origin).
    ///   - production: Whether the production profile runs (the CSRF cookie's `__Host-` name).
    ///   - publicURL: `PUBLIC_URL`: links to `/ui/reset` and `/ui/verify` are built from it alone.
    /// - Throws: A template that does not parse.
    public init(auth: Auth, options: HTTPOptions, production: Bool, publicURL: String?) throws {
        self.auth = auth
        self.options = options
        self.renderer = try PageRenderer()
        self.csrf = CSRFGuard(production: production, secure: options.secureCookies, publicOrigin: options.publicOrigin)
        self.publicURL = publicURL.map { $0.hasSuffix("/") ? String($0.dropLast()) : $0 }
    }

    /// The pages' routes, for the route table. Each carries its API twin's traits (the per-client
    /// limit, stopping when the client goes), and none is documented in `openapi.yaml`.
    public var routes: [Route] {
        let limitedHashing: RouteTraits = [.clientLimited, .hashes]
        return [
            Route(method: .get, path: "/ui/static/style.css", traits: []) { _, _ in stylesheet() },
            Route(method: .get, path: "/ui/login", traits: []) { request, _ in loginPage(request) },
            Route(method: .post, path: "/ui/login", traits: limitedHashing, handler: logIn),
            Route(method: .post, path: "/ui/login/code", traits: limitedHashing, handler: logInWithCode),
            Route(method: .post, path: "/ui/logout", traits: [], handler: logOut),
            Route(method: .get, path: "/ui/register", traits: []) { request, _ in registerPage(request) },
            Route(method: .post, path: "/ui/register", traits: limitedHashing, handler: register),
            Route(method: .get, path: "/ui/account", traits: [], handler: accountPage),
            Route(method: .post, path: "/ui/account/password", traits: [.hashes], handler: changePassword),
            Route(method: .post, path: "/ui/account/email", traits: [.hashes], handler: changeEmail),
            Route(method: .post, path: "/ui/account/sessions/end-others", traits: [.hashes], handler: endOthers),
            Route(method: .post, path: "/ui/account/sessions/{id}/end", traits: [.hashes], handler: endSession),
            Route(method: .post, path: "/ui/account/delete", traits: [.hashes], handler: deleteAccount),
            Route(method: .post, path: "/ui/account/verification", traits: [.clientLimited], handler: sendLinkAgain),
            Route(method: .post, path: "/ui/account/factor", traits: [.hashes], handler: beginFactor),
            Route(method: .post, path: "/ui/account/factor/confirm", traits: [.hashes], handler: confirmFactor),
            Route(
                method: .post, path: "/ui/account/factor/recovery-codes", traits: [.hashes],
                handler: newRecoveryCodes),
            Route(method: .post, path: "/ui/account/factor/delete", traits: [.hashes], handler: turnOffFactor),
            Route(method: .get, path: "/ui/forgot", traits: []) { request, _ in forgotPage(request) },
            Route(method: .post, path: "/ui/forgot", traits: [.clientLimited], handler: forgot),
            Route(method: .get, path: "/ui/reset", traits: []) { request, _ in tokenPage("reset", request) },
            Route(method: .post, path: "/ui/reset", traits: limitedHashing, handler: reset),
            Route(method: .get, path: "/ui/verify", traits: []) { request, _ in tokenPage("verify", request) },
            Route(method: .post, path: "/ui/verify", traits: limitedHashing, handler: verify),
        ]
    }

    /// The error page every refusal under `/ui` becomes (`HTTPOptions.errorPage`).
    /// - Parameter error: The API's error.
    /// - Returns: The page, with the error's status and headers.
    public func errorPage(_ error: APIError) -> Response {
        let heading: String
        switch error.status.code {
        case 404: heading = "Page not found"
        case 405: heading = "Not allowed here"
        case 429: heading = "Too many attempts"
        case 500...: heading = "Unavailable for a moment"
        default: heading = "Something is not right"
        }
        let html = renderer.render(
            "message",
            [
                "heading": heading, "problem": PageProblem.sentence(error.message),
                "link": ["href": "/ui/login", "text": "Go to the login page"],
            ])
        return HTMLResponse.page(error.status, html, headers: error.headers)
    }

    // MARK: Shared pieces

    /// Renders a page for `request` with its CSRF token, setting the cookie when it is new.
    func show(
        _ template: String, _ values: [String: Any], for request: Request, status: HTTPResponse.Status = .ok,
        headers: HTTPFields = [:]
    ) -> Response {
        let (token, cookie) = csrf.token(for: request)
        var values = values
        values["csrf"] = token
        var headers = headers
        if let cookie { headers.append(cookie) }
        return HTMLResponse.page(status, renderer.render(template, values), headers: headers)
    }

    /// Shows `template` again with the problem next to its field (or at the top).
    func showAgain(
        _ template: String, _ values: [String: Any], problem: PageProblem, for request: Request
    ) -> Response {
        var values = values
        if let field = problem.field {
            values["errors"] = [field: problem.message]
        } else {
            values["problem"] = problem.message
        }
        return show(template, values, for: request, status: problem.status, headers: problem.headers)
    }

    /// Reads a form `POST` and checks it against cross-site forgery.
    func form(_ request: Request, context: LatchkeyRequestContext) async throws -> Fields {
        let fields = try await Fields.read(from: request, context: context)
        try csrf.check(request, fields: fields)
        return fields
    }

    /// The session cookie, as the API sets it.
    var cookie: SessionCookie { SessionCookie(name: options.sessionCookieName, secure: options.secureCookies) }

    /// The client's address and agent.
    func origin(of request: Request, context: LatchkeyRequestContext) -> SessionOrigin {
        ClientAddressResolver(trustedProxies: options.trustedProxies).origin(of: request, context: context)
    }

    /// A query parameter of the page's URL.
    func query(_ request: Request, _ name: String) -> String {
        request.uri.queryParameters[Substring(name)].map { String($0) } ?? ""
    }

    /// A link to a page with `email` and `token`, built from `PUBLIC_URL` alone (never from the
    /// request's `Host` or forwarded headers); relative without it (development).
    func link(_ page: String, email: String, token: String) -> String {
        let encode = { (text: String) in text.addingPercentEncoding(withAllowedCharacters: Self.unreserved) ?? "" }
        return "\(publicURL ?? "")/ui/\(page)?email=\(encode(email))&token=\(encode(token))"
    }

    /// RFC 3986's unreserved characters: everything else in a link's query value is percent-encoded.
    static let unreserved: CharacterSet = {
        var allowed = CharacterSet(charactersIn: "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
        allowed.insert(charactersIn: "-._~")
        return allowed
    }()

    private func stylesheet() -> Response {
        Response(
            status: .ok, headers: [.contentType: "text/css; charset=utf-8"],
            body: ResponseBody(byteBuffer: ByteBuffer(string: renderer.stylesheet)))
    }
}
