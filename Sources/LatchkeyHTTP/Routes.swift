import Hummingbird
import LatchkeyCore

/// The HTTP settings that are not rules of `Auth`.
public struct HTTPOptions: Sendable {
    /// Whether the session cookie carries `Secure` (set it behind TLS).
    public var secureCookies: Bool
    /// Origins answered with CORS (credentials allowed), and, when `refuseCrossSite` is set, the
    /// only origins whose state-changing requests are accepted.
    public var allowedOrigins: [String]
    /// Whether state-changing cross-site requests are refused with 403 (production).
    public var refuseCrossSite: Bool
    /// Requests per client address per minute on the routes that hash or issue tokens; 0 is off.
    public var rateLimitPerMinute: Int
    /// Proxies whose `X-Forwarded-For` is believed.
    public var trustedProxies: [IPNetwork]
    /// Metrics and the OpenAPI document.
    public var operations: Operations

    /// Creates the options.
    /// - Parameters:
    ///   - secureCookies: Whether the session cookie carries `Secure`.
    ///   - allowedOrigins: Origins answered with CORS and accepted across sites.
    ///   - refuseCrossSite: Whether state-changing cross-site requests are refused.
    ///   - rateLimitPerMinute: The per-client limit; 0 is off.
    ///   - trustedProxies: Proxies whose `X-Forwarded-For` is believed.
    ///   - operations: Metrics and the OpenAPI document.
    public init(
        secureCookies: Bool = false,
        allowedOrigins: [String] = [],
        refuseCrossSite: Bool = false,
        rateLimitPerMinute: Int = 0,
        trustedProxies: [IPNetwork] = [],
        operations: Operations = Operations()
    ) {
        self.secureCookies = secureCookies
        self.allowedOrigins = allowedOrigins
        self.refuseCrossSite = refuseCrossSite
        self.rateLimitPerMinute = rateLimitPerMinute
        self.trustedProxies = trustedProxies
        self.operations = operations
    }
}

/// The name of the session cookie, as the original service set it.
public let sessionCookieName = "session_id"

/// Builds the router that serves the whole contract.
/// - Parameters:
///   - auth: The rules; the only thing the HTTP layer talks to.
///   - options: Cookie settings.
/// - Returns: A router ready for an `Application`.
public func buildRouter(auth: Auth, options: HTTPOptions = HTTPOptions()) -> Router<LatchkeyRequestContext> {
    let router = Router(context: LatchkeyRequestContext.self)
    let allowed: [String: [HTTPRequest.Method]] = [
        "/": [.get],
        "/users": [.post],
        "/sessions": [.post, .delete],
        "/profile": [.get],
        "/reset_password": [.post, .put],
        "/healthz": [.get],
        "/readyz": [.get],
        "/metrics": [.get],
        "/openapi.json": [.get],
        "/auth/verify": [.get],
    ]
    // Added first so that they wrap every route and the not-found responder: the headers go on
    // every response, errors included.
    router.add(middleware: RequestLoadMiddleware())
    router.add(middleware: RequestLogMiddleware())
    router.add(middleware: SecurityHeadersMiddleware())
    if !options.allowedOrigins.isEmpty {
        // Outside the error middleware: a preflight is answered before routing.
        router.add(middleware: AllowedOriginsCORSMiddleware(allowedOrigins: Set(options.allowedOrigins)))
    }
    if options.operations.metrics != nil {
        // Requests by route and status, and their durations, through swift-metrics; outside the
        // error middleware, so that it sees every error as the status the client gets.
        router.add(middleware: MetricsMiddleware())
    }
    router.add(middleware: JSONErrorMiddleware(allowedMethods: allowed))
    if options.refuseCrossSite {
        router.add(middleware: CrossSiteGuardMiddleware(allowedOrigins: Set(options.allowedOrigins)))
    }
    if options.rateLimitPerMinute > 0 {
        router.add(
            middleware: ClientRateLimitMiddleware(
                limiter: ClientRateLimiter(limit: options.rateLimitPerMinute),
                resolver: ClientAddressResolver(trustedProxies: options.trustedProxies)))
    }
    let routes = AuthRoutes(auth: auth, options: options)

    router.get("/") { _, _ in
        JSONResponse.make(.ok, ["message": "Bienvenue"])
    }
    // Liveness: the process serves requests. Readiness: the database answers too.
    router.get("/healthz") { _, _ in
        JSONResponse.make(.ok, ["status": "ok"])
    }
    router.get("/readyz") { _, _ in
        await auth.isStorageReady()
            ? JSONResponse.make(.ok, ["status": "ready"])
            : JSONResponse.make(.serviceUnavailable, ["message": "the database is not answering"])
    }
    let operationsRoutes = OperationsRoutes(auth: auth, operations: options.operations)
    router.get("/metrics") { request, _ in try operationsRoutes.metrics(request) }
    router.get("/openapi.json") { request, _ in try operationsRoutes.openAPI(request) }
    router.get("/auth/verify") { request, _ in try await operationsRoutes.verify(request) }
    router.post("/users") { request, _ in try await routes.register(request) }
    router.post("/sessions") { request, _ in try await routes.login(request) }
    router.delete("/sessions") { request, _ in try await routes.logout(request) }
    router.get("/profile") { request, _ in try await routes.profile(request) }
    router.post("/reset_password") { request, _ in try await routes.resetToken(request) }
    router.put("/reset_password") { request, _ in try await routes.updatePassword(request) }
    return router
}

/// The handlers: read fields and cookies, call `Auth`, shape the response.
struct AuthRoutes: Sendable {
    let auth: Auth
    let options: HTTPOptions

    func register(_ request: Request) async throws -> Response {
        let fields = try await Fields.read(from: request)
        let user = try await auth.registerUser(email: fields.required("email"), password: fields.required("password"))
        return JSONResponse.make(.ok, ["email": user.email, "message": "user created"])
    }

    func login(_ request: Request) async throws -> Response {
        let fields = try await Fields.read(from: request)
        let user = try await auth.validLogin(email: fields.required("email"), password: fields.required("password"))
        let token = try await auth.createSession(for: user)
        var response = JSONResponse.make(.ok, ["email": user.email, "message": "logged in"])
        response.setCookie(sessionCookie(value: token, maxAge: auth.policy.sessionLifetime))
        return response
    }

    func logout(_ request: Request) async throws -> Response {
        try await auth.destroySession(token: sessionToken(request))
        var response = Response(status: .found, headers: [.location: "/"])
        response.setCookie(sessionCookie(value: "", maxAge: 0))
        return response
    }

    func profile(_ request: Request) async throws -> Response {
        let user = try await auth.user(forSessionToken: sessionToken(request))
        return JSONResponse.make(.ok, ["email": user.email])
    }

    func resetToken(_ request: Request) async throws -> Response {
        let fields = try await Fields.read(from: request)
        switch try await auth.requestPasswordReset(for: fields.required("email")) {
        case .issued(let issued):
            return JSONResponse.make(.ok, ["email": issued.email, "reset_token": issued.token])
        case .accepted(let email):
            return JSONResponse.make(
                .ok, ["email": email, "message": "if this email has an account, a reset token is on its way"])
        }
    }

    func updatePassword(_ request: Request) async throws -> Response {
        let fields = try await Fields.read(from: request)
        let user = try await auth.updatePassword(
            resetToken: fields.required("reset_token"),
            email: fields.required("email"),
            newPassword: fields.required("new_password")
        )
        return JSONResponse.make(.ok, ["email": user.email, "message": "Password updated"])
    }

    /// The session token from the cookie; a missing cookie is a 403 like an unknown one.
    private func sessionToken(_ request: Request) throws -> String {
        guard let value = sessionCookieValue(request), !value.isEmpty else {
            throw AuthError.invalidSession
        }
        return value
    }

    private func sessionCookie(value: String, maxAge: Int) -> Cookie {
        Cookie(
            name: sessionCookieName,
            value: value,
            maxAge: maxAge,
            path: "/",
            secure: options.secureCookies,
            httpOnly: true,
            sameSite: .lax
        )
    }
}

/// The value of the first `session_id` cookie in the request's `Cookie` headers. It reads only
/// that cookie, without parsing the others: this runs on every profile read.
func sessionCookieValue(_ request: Request) -> String? {
    let name = Array(sessionCookieName.utf8)
    for header in request.headers[values: .cookie] {
        for pair in header.utf8.split(separator: UInt8(ascii: ";")) {
            var start = pair.startIndex
            while start < pair.endIndex, pair[start] == UInt8(ascii: " ") || pair[start] == UInt8(ascii: "\t") {
                start = pair.index(after: start)
            }
            let trimmed = pair[start...]
            guard trimmed.count > name.count, trimmed.starts(with: name),
                trimmed[trimmed.index(trimmed.startIndex, offsetBy: name.count)] == UInt8(ascii: "=")
            else { continue }
            var value = trimmed.dropFirst(name.count + 1)
            while let last = value.last, last == UInt8(ascii: " ") || last == UInt8(ascii: "\t") {
                value = value.dropLast()
            }
            return String(decoding: value, as: UTF8.self)
        }
    }
    return nil
}
