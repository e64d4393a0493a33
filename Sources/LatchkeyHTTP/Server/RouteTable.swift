import Hummingbird
import LatchkeyCore

/// What a route is beyond its handler; the router derives its lists from these.
public struct RouteTraits: OptionSet, Sendable, Hashable {
    /// The bits of the set.
    public let rawValue: Int

    /// Creates traits from their bits.
    /// - Parameter rawValue: The bits.
    public init(rawValue: Int) {
        self.rawValue = rawValue
    }

    /// The route checks a password hash or a one-time code, so its work is cancelled when its
    /// client goes (a queued hash is dropped before it runs; docs/decisions/0019).
    public static let hashes = RouteTraits(rawValue: 1 << 0)
    /// The route is counted by the per-client limit (`RATE_LIMIT_PER_IP_PER_MINUTE`): it hashes
    /// a password or issues a token to whoever asks (OWASP ASVS 5.0, 6.3.1).
    public static let clientLimited = RouteTraits(rawValue: 1 << 1)
    /// The route is an operation of `openapi.yaml` (the API's routes are; pages will not be).
    public static let documented = RouteTraits(rawValue: 1 << 2)
}

/// One route of the service: declared once, with its method, path and traits.
public struct Route: Sendable {
    /// The method it serves. A `GET` route serves `HEAD` too.
    public let method: HTTPRequest.Method
    /// Its path, as the router matches it: `/account/sessions/{id}` has one parameter.
    public let path: String
    /// What it is beyond its handler.
    public let traits: RouteTraits
    /// Answers a request.
    let handler: @Sendable (Request, LatchkeyRequestContext) async throws -> Response

    /// `METHOD /path`, as the docs name a route.
    public var name: String { "\(method.rawValue) \(path)" }

    /// Creates a route.
    /// - Parameters:
    ///   - method: The method it serves.
    ///   - path: Its path, with `{name}` for a parameter.
    ///   - traits: What it is beyond its handler.
    ///   - handler: Answers a request.
    public init(
        method: HTTPRequest.Method, path: String, traits: RouteTraits,
        handler: @escaping @Sendable (Request, LatchkeyRequestContext) async throws -> Response
    ) {
        self.method = method
        self.path = path
        self.traits = traits
        self.handler = handler
    }
}

/// Every route, in one table: the router registers each, and derives from it the methods each
/// path serves (the 405 answers' `Allow`), the routes the per-client limit counts, and the
/// routes that stop when their client goes.
public struct RouteTable: Sendable {
    /// The routes, in the order they are registered.
    public let routes: [Route]

    /// The table of the API, and of the pages when given.
    /// - Parameters:
    ///   - auth: The rules.
    ///   - options: Cookie, proxy and operations settings.
    ///   - pages: The pages' routes (`LatchkeyUI`), after the API's.
    public init(auth: Auth, options: HTTPOptions, pages: [Route] = []) {
        let routes = AuthRoutes(auth: auth, options: options)
        let account = AccountRoutes(auth: auth, options: options)
        let secondFactor = SecondFactorRoutes(auth: auth, account: account, login: routes)
        let operations = OperationsRoutes(auth: auth, operations: options.operations)
        let forwardAuth = ForwardAuth(
            auth: auth, cookie: options.sessionCookie,
            rule: options.redirectRule, loginPageURL: options.loginPageURL)
        let api: RouteTraits = .documented
        let hashing: RouteTraits = [.documented, .hashes]
        let limited: RouteTraits = [.documented, .clientLimited]
        let limitedHashing: RouteTraits = [.documented, .clientLimited, .hashes]
        self.routes =
            [
                Route(method: .get, path: "/", traits: api) { _, _ in JSONResponse.make(.ok, ["message": "Bienvenue"])
                },
                Route(method: .post, path: "/users", traits: limitedHashing, handler: routes.register),
                Route(method: .post, path: "/sessions", traits: limitedHashing, handler: routes.login),
                Route(method: .delete, path: "/sessions", traits: api, handler: routes.logout),
                Route(method: .get, path: "/profile", traits: api) { request, _ in try await routes.profile(request) },
                Route(method: .post, path: "/reset_password", traits: limited, handler: routes.resetToken),
                Route(method: .put, path: "/reset_password", traits: limitedHashing, handler: routes.updatePassword),
                // Liveness: the process serves requests. Readiness: the database answers too.
                Route(method: .get, path: "/healthz", traits: api) { _, _ in JSONResponse.make(.ok, ["status": "ok"]) },
                Route(method: .get, path: "/readyz", traits: api) { _, _ in
                    await auth.isStorageReady()
                        ? JSONResponse.make(.ok, ["status": "ready"])
                        : JSONResponse.make(.serviceUnavailable, ["message": "the database is not answering"])
                },
                Route(method: .get, path: "/metrics", traits: api) { request, _ in try operations.metrics(request) },
                Route(method: .get, path: "/openapi.json", traits: api) { request, _ in try operations.openAPI(request)
                },
                Route(method: .get, path: "/auth/verify", traits: api) { request, _ in
                    try await forwardAuth.verify(request)
                },
                Route(method: .get, path: "/account", traits: api) { request, _ in try await account.account(request) },
                Route(method: .delete, path: "/account", traits: hashing, handler: account.deleteAccount),
                Route(method: .put, path: "/account/password", traits: hashing, handler: account.changePassword),
                Route(method: .put, path: "/account/email", traits: hashing, handler: account.changeEmail),
                Route(method: .get, path: "/account/sessions", traits: api) { request, _ in
                    try await account.sessions(request)
                },
                Route(method: .delete, path: "/account/sessions", traits: hashing, handler: account.endOtherSessions),
                Route(method: .delete, path: "/account/sessions/{id}", traits: hashing, handler: account.endSession),
                Route(method: .get, path: "/account/activity", traits: api) { request, _ in
                    try await account.activity(request)
                },
                Route(method: .post, path: "/account/mfa/totp", traits: hashing, handler: secondFactor.begin),
                Route(method: .put, path: "/account/mfa/totp", traits: hashing, handler: secondFactor.confirm),
                Route(method: .delete, path: "/account/mfa/totp", traits: hashing, handler: secondFactor.disable),
                Route(
                    method: .post, path: "/account/mfa/recovery_codes", traits: hashing,
                    handler: secondFactor.regenerate),
                Route(
                    method: .post, path: "/sessions/mfa", traits: limitedHashing, handler: secondFactor.continueLogIn),
                Route(method: .post, path: "/verify_email", traits: limited, handler: routes.requestVerification),
                // It may check a password against two hashes, and hash a new one.
                Route(method: .put, path: "/verify_email", traits: limitedHashing, handler: routes.verifyEmail),
            ] + pages
    }

    /// The routes with a trait.
    /// - Parameter trait: The trait.
    /// - Returns: Their `METHOD /path` names, in the table's order.
    public func names(with trait: RouteTraits) -> [String] {
        routes.filter { $0.traits.contains(trait) }.map(\.name)
    }

    /// The methods each path without parameters serves, in the table's order, `HEAD` right after
    /// `GET`: a known path asked with another method is 405 with this `Allow`.
    var allowedMethods: [String: [HTTPRequest.Method]] {
        var allowed: [String: [HTTPRequest.Method]] = [:]
        for route in routes where !route.path.contains("{") {
            allowed[route.path, default: []].append(route.method)
            if route.method == .get { allowed[route.path, default: []].append(.head) }
        }
        return allowed
    }

    /// The routes the per-client limit counts, as `METHOD /path`.
    var clientLimited: Set<String> { Set(names(with: .clientLimited)) }
}
