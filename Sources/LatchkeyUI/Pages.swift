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
    /// The policy of the pages whose form may send the browser back to an application.
    let portalPolicy: String

    /// Creates the pages.
    /// - Parameters:
    ///   - auth: The rules.
    ///   - options: The HTTP settings the API uses too (cookie, proxies, origin).
    ///   - production: Whether the production profile runs (the CSRF cookie's `__Host-` name).
    ///   - publicURL: `PUBLIC_URL`: links to `/ui/reset` and `/ui/verify` are built from it alone.
    ///   - theme: The operator's brand (`UI_TITLE`, `UI_LOGO_PATH`, `UI_TEMPLATES_DIR`).
    /// - Throws: `PageSetupError` naming the file or setting that cannot be used (`PageFiles`,
    ///   `PageRenderer`).
    public init(
        auth: Auth, options: HTTPOptions, production: Bool, publicURL: String?, theme: PageTheme = PageTheme()
    ) throws(PageSetupError) {
        self.auth = auth
        self.options = options
        self.renderer = try PageRenderer(files: PageFiles(theme: theme))
        self.csrf = CSRFGuard(production: production, secure: options.secureCookies, publicOrigin: options.publicOrigin)
        self.publicURL = publicURL.map { $0.hasSuffix("/") ? String($0.dropLast()) : $0 }
        portalPolicy = HTMLResponse.policy(formActions: options.redirectRule.formActionSources)
    }

    /// The pages whose form may answer with a redirect to a return address (`rd`).
    static let portalTemplates: Set<String> = ["login", "login-code", "logout", "step-up"]

    /// The return address a page's query or form names, when the rule allows it.
    func returnAddress(_ text: String?) -> ReturnAddress? {
        text.flatMap { options.redirectRule.returnAddress($0) }
    }

    /// The pages' routes, for the route table. Each carries its API twin's traits (the per-client
    /// limit, stopping when the client goes), and none is documented in `openapi.yaml`.
    public var routes: [Route] {
        let limitedHashing: RouteTraits = [.clientLimited, .hashes]
        return [
            Route(method: .get, path: "/ui/static/{file}", traits: []) { _, context in
                try staticFile(context.parameters.get("file") ?? "")
            },
            Route(method: .get, path: "/ui/login", traits: []) { request, _ in try await loginPage(request) },
            Route(method: .post, path: "/ui/login", traits: limitedHashing, handler: logIn),
            Route(method: .post, path: "/ui/login/code", traits: limitedHashing, handler: logInWithCode),
            Route(method: .post, path: "/ui/login/step-up", traits: [.clientLimited], handler: stepUp),
            Route(method: .get, path: "/ui/logout", traits: []) { request, _ in logoutPage(request) },
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

    /// The error page every refusal under `/ui` becomes (`HTTPOptions.errorPage`), in the
    /// request's language.
    /// - Parameters:
    ///   - error: The API's error.
    ///   - request: The request, for its `Accept-Language`.
    /// - Returns: The page, with the error's status and headers.
    public func errorPage(_ error: APIError, for request: Request) -> Response {
        let heading: String
        switch error.status.code {
        case 404: heading = "error.404"
        case 405: heading = "error.405"
        case 429: heading = "error.429"
        case 500...: heading = "error.5xx"
        default: heading = "error.other"
        }
        let problem = PageProblem.from(error)
        let values: [String: Any] = [
            "heading": PageText(heading), "problem": problem.text,
            "link": ["href": "/ui/login", "text": PageText("error.to-login")],
        ]
        let edition = renderer.edition(for: request)
        var headers = error.headers
        headers.append(contentsOf: Self.languageHeaders(edition))
        return HTMLResponse.page(
            error.status, renderer.render("message", Self.resolved(values, edition.catalog), in: edition),
            headers: headers)
    }

    // MARK: Shared pieces

    /// Renders a page for `request` with its CSRF token, setting the cookie when it is new.
    func show(
        _ template: String, _ values: [String: Any], for request: Request, status: HTTPResponse.Status = .ok,
        headers: HTTPFields = [:], edition chosen: PageRenderer.Edition? = nil
    ) -> Response {
        let (token, cookie) = csrf.token(for: request)
        let edition = chosen ?? renderer.edition(for: request)
        var values = Self.resolved(values, edition.catalog)
        values["csrf"] = token
        var headers = headers
        headers.append(contentsOf: Self.languageHeaders(edition))
        if let cookie { headers.append(cookie) }
        let policy = Self.portalTemplates.contains(template) ? portalPolicy : HTMLResponse.contentSecurityPolicy
        return HTMLResponse.page(
            status, renderer.render(template, values, in: edition), headers: headers, policy: policy)
    }

    /// `Content-Language` (the edition's) and `Vary: Accept-Language` (RFC 9110 sections 8.5 and
    /// 12.5.5): the same URL answers in several languages.
    static func languageHeaders(_ edition: PageRenderer.Edition) -> HTTPFields {
        [.contentLanguage: edition.catalog.language, .vary: "Accept-Language"]
    }

    /// The values with every `PageText` among them, and in the dictionaries among them, as its
    /// sentence in `catalog`.
    static func resolved(_ values: [String: Any], _ catalog: Catalog) -> [String: Any] {
        var resolved = values
        for (key, value) in values {
            switch value {
            case let text as PageText:
                resolved[key] = catalog.text(text)
            case let inner as [String: Any] where inner.values.contains(where: { $0 is PageText }):
                resolved[key] = inner.mapValues { ($0 as? PageText).map(catalog.text) ?? $0 }
            default:
                break
            }
        }
        return resolved
    }

    /// Shows `template` again with the problem next to its field (or at the top).
    func showAgain(
        _ template: String, _ values: [String: Any], problem: PageProblem, for request: Request
    ) -> Response {
        var values = values
        if let field = problem.field {
            values["errors"] = [field: problem.text] as [String: Any]
        } else {
            values["problem"] = problem.text
        }
        return show(template, values, for: request, status: problem.status, headers: problem.headers)
    }

    /// Reads a form `POST` and checks it against cross-site forgery.
    func form(_ request: Request, context: LatchkeyRequestContext) async throws -> Fields {
        let fields = try await Fields.read(from: request, context: context)
        try csrf.check(request, fields: fields)
        return fields
    }

    /// Reads a form `POST` as `form(_:context:)` does, taking its return address (`rd`, when the
    /// rule allows it) before the check, so that a form refused as expired is shown again with it.
    func form(_ request: Request, context: LatchkeyRequestContext, returnAddress address: inout ReturnAddress?)
        async throws -> Fields
    {
        let fields = try await Fields.read(from: request, context: context)
        address = returnAddress(try? fields.optional("rd"))
        try csrf.check(request, fields: fields)
        return fields
    }

    /// The session cookie, as the API sets it.
    var cookie: SessionCookie { options.sessionCookie }

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
        Self.link(publicURL: publicURL, page, email: email, token: token)
    }

    /// A link to a page with `email` and `token` under `publicURL`, each percent-encoded but for
    /// RFC 3986's unreserved characters.
    static func link(publicURL: String?, _ page: String, email: String, token: String) -> String {
        let encode = { (text: String) in text.addingPercentEncoding(withAllowedCharacters: .urlUnreserved) ?? "" }
        return "\(publicURL ?? "")/ui/\(page)?email=\(encode(email))&token=\(encode(token))"
    }

    /// `GET /ui/static/{file}`: the stylesheets and the mark; 404 for any other name.
    private func staticFile(_ name: String) throws -> Response {
        guard let file = renderer.staticFiles[name] else { throw APIError(.notFound, "not found") }
        return file.response
    }
}
