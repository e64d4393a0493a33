import Hummingbird
import LatchkeyCore

/// The name of the session cookie, as the original service set it.
public let sessionCookieName = "session_id"

/// Builds the router that serves the whole contract.
/// - Parameters:
///   - auth: The rules; the only thing the HTTP layer talks to.
///   - options: Cookie settings.
/// - Returns: A router ready for an `Application`.
public func buildRouter(auth: Auth, options: HTTPOptions = HTTPOptions()) -> Router<LatchkeyRequestContext> {
    // Every GET route answers HEAD with the same status and headers and no body (nginx and
    // health checkers send HEAD); Hummingbird makes the HEAD routes.
    let router = Router(context: LatchkeyRequestContext.self, options: .autoGenerateHeadEndpoints)
    let allowed: [String: [HTTPRequest.Method]] = [
        "/": [.get, .head],
        "/users": [.post],
        "/sessions": [.post, .delete],
        "/profile": [.get, .head],
        "/reset_password": [.post, .put],
        "/healthz": [.get, .head],
        "/readyz": [.get, .head],
        "/metrics": [.get, .head],
        "/openapi.json": [.get, .head],
        "/auth/verify": [.get, .head],
        "/account": [.get, .head, .delete],
        "/account/password": [.put],
        "/account/email": [.put],
        "/account/sessions": [.get, .head, .delete],
        "/account/activity": [.get, .head],
        "/account/mfa/totp": [.post, .put, .delete],
        "/account/mfa/recovery_codes": [.post],
        "/sessions/mfa": [.post],
        "/verify_email": [.post, .put],
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
        router.add(
            middleware: CrossSiteGuardMiddleware(
                allowedOrigins: Set(options.allowedOrigins), publicOrigin: options.publicOrigin))
    }
    if options.rateLimitPerMinute > 0 {
        router.add(
            middleware: ClientRateLimitMiddleware(
                limiter: ClientRateLimiter(limit: options.rateLimitPerMinute),
                resolver: ClientAddressResolver(trustedProxies: options.trustedProxies)))
    }
    let routes = AuthRoutes(auth: auth, options: options)
    // The routes that check a password hash or a code, and so are cancelled when their client goes.
    func untilClientGoes(
        _ handler: @escaping @Sendable (Request, LatchkeyRequestContext) async throws -> Response
    ) -> @Sendable (Request, LatchkeyRequestContext) async throws -> Response {
        { request, context in
            try await routes.whileClientStays(request, context: context) { try await handler($0, context) }
        }
    }

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
    let operationsRoutes = OperationsRoutes(
        auth: auth, operations: options.operations, cookieName: options.sessionCookieName)
    router.get("/metrics") { request, _ in try operationsRoutes.metrics(request) }
    router.get("/openapi.json") { request, _ in try operationsRoutes.openAPI(request) }
    router.get("/auth/verify") { request, _ in try await operationsRoutes.verify(request) }
    router.post("/users", use: untilClientGoes(routes.register))
    router.post("/sessions", use: untilClientGoes(routes.login))
    router.delete("/sessions") { request, context in try await routes.logout(request, context: context) }
    router.get("/profile") { request, _ in try await routes.profile(request) }
    router.post("/reset_password") { request, context in try await routes.resetToken(request, context: context) }
    router.put("/reset_password", use: untilClientGoes(routes.updatePassword))
    router.post("/verify_email") { request, context in try await routes.requestVerification(request, context: context) }
    router.put("/verify_email") { request, context in try await routes.verifyEmail(request, context: context) }
    let account = AccountRoutes(auth: auth, options: options)
    router.get("/account") { request, _ in try await account.account(request) }
    router.get("/account/sessions") { request, _ in try await account.sessions(request) }
    router.get("/account/activity") { request, _ in try await account.activity(request) }
    router.put("/account/password", use: untilClientGoes(account.changePassword))
    router.put("/account/email", use: untilClientGoes(account.changeEmail))
    router.delete("/account/sessions/{id}", use: untilClientGoes(account.endSession))
    router.delete("/account/sessions", use: untilClientGoes(account.endOtherSessions))
    router.delete("/account", use: untilClientGoes(account.deleteAccount))
    let secondFactor = SecondFactorRoutes(auth: auth, account: account, login: routes)
    router.post("/sessions/mfa", use: untilClientGoes(secondFactor.finishLogin))
    router.post("/account/mfa/totp", use: untilClientGoes(secondFactor.begin))
    router.put("/account/mfa/totp", use: untilClientGoes(secondFactor.confirm))
    router.delete("/account/mfa/totp", use: untilClientGoes(secondFactor.disable))
    router.post("/account/mfa/recovery_codes", use: untilClientGoes(secondFactor.regenerate))
    return router
}
