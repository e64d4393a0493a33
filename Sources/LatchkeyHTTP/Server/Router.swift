import Hummingbird
import LatchkeyCore

/// The name of the session cookie, as the original service set it.
public let sessionCookieName = "session_id"

/// Builds the router that serves the whole contract.
/// - Parameters:
///   - auth: The rules; the only thing the HTTP layer talks to.
///   - options: Cookie settings.
/// - Returns: A router ready for an `Application`.
public func buildRouter(auth: Auth, options: HTTPOptions = HTTPOptions(), pages: [Route] = [])
    -> Router<LatchkeyRequestContext>
{
    // Every GET route answers HEAD with the same status and headers and no body (nginx and
    // health checkers send HEAD); Hummingbird makes the HEAD routes.
    let router = Router(context: LatchkeyRequestContext.self, options: .autoGenerateHeadEndpoints)
    let table = RouteTable(auth: auth, options: options, pages: pages)
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
    router.add(middleware: JSONErrorMiddleware(allowedMethods: table.allowedMethods, errorPage: options.errorPage))
    if options.refuseCrossSite {
        router.add(
            middleware: CrossSiteGuardMiddleware(
                allowedOrigins: Set(options.allowedOrigins), publicOrigin: options.publicOrigin))
    }
    if options.rateLimitPerMinute > 0 {
        router.add(
            middleware: ClientRateLimitMiddleware(
                limiter: ClientRateLimiter(limit: options.rateLimitPerMinute), limited: table.clientLimited,
                resolver: ClientAddressResolver(trustedProxies: options.trustedProxies)))
    }
    for route in table.routes {
        let handler = route.handler
        if route.traits.contains(.hashes) {
            // Cancelled when its client goes, so that no hash is left queued for nobody.
            router.on(RouterPath(route.path), method: route.method) { request, context in
                try await whileClientStays(request, context: context) { try await handler($0, context) }
            }
        } else {
            router.on(RouterPath(route.path), method: route.method, use: handler)
        }
    }
    return router
}
