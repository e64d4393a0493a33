import Foundation
import HTTPTypes
import Hummingbird
import LatchkeyCore
import Synchronization

/// A per-client fixed-window limit (`RATE_LIMIT_PER_IP_PER_MINUTE`) on the routes that hash
/// passwords or issue tokens. It counts in this node's memory: behind a load balancer each node
/// allows the limit on its own, while the per-email throttles in the database hold across nodes.
final class ClientRateLimiter: Sendable {
    let limit: Int
    let window: TimeInterval
    private let counts = Mutex<(windowStart: Date, counts: [String: Int])>((Date.distantPast, [:]))

    init(limit: Int, window: TimeInterval = 60) {
        self.limit = limit
        self.window = window
    }

    /// Counts a request; returns the whole seconds to wait when the client is over the limit.
    func admit(_ client: String, now: Date = Date()) -> Int? {
        counts.withLock { state in
            if now.timeIntervalSince(state.windowStart) >= window {
                // A new window: the table never outgrows one window's clients.
                state = (now, [:])
            }
            let count = (state.counts[client] ?? 0) + 1
            state.counts[client] = count
            guard count > limit else { return nil }
            let end = state.windowStart.addingTimeInterval(window)
            return max(1, Int(end.timeIntervalSince(now).rounded(.up)))
        }
    }
}

/// Applies the per-client limit to `POST /users`, `POST /sessions` and both `/reset_password`
/// routes.
struct ClientRateLimitMiddleware: RouterMiddleware {
    typealias Context = LatchkeyRequestContext
    let limiter: ClientRateLimiter
    let resolver: ClientAddressResolver

    static let limited: Set<String> = ["POST /users", "POST /sessions", "POST /reset_password", "PUT /reset_password"]

    func handle(
        _ request: Request,
        context: Context,
        next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        guard Self.limited.contains("\(request.method.rawValue) \(request.uri.path)") else {
            return try await next(request, context)
        }
        let client = resolver.clientAddress(
            peer: context.remoteAddress?.ipAddress, forwardedFor: request.headers[values: .xForwardedFor])
        if let client, let seconds = limiter.admit(client) {
            throw AuthError.throttled(retryAfter: seconds)
        }
        return try await next(request, context)
    }
}

/// Refuses cross-site requests that change state (production): `Sec-Fetch-Site: cross-site`, or
/// an `Origin` that is not one of `ALLOWED_ORIGINS`.
struct CrossSiteGuardMiddleware: RouterMiddleware {
    typealias Context = LatchkeyRequestContext
    let allowedOrigins: Set<String>

    func handle(
        _ request: Request,
        context: Context,
        next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        switch request.method {
        case .get, .head, .options:
            return try await next(request, context)
        default:
            if request.headers[.secFetchSite]?.lowercased() == "cross-site" {
                throw APIError(.forbidden, "cross-site request refused")
            }
            if let origin = request.headers[.origin], !allowedOrigins.contains(origin) {
                throw APIError(.forbidden, "cross-site request refused: origin not allowed")
            }
            return try await next(request, context)
        }
    }
}

/// CORS with credentials, answered only for `ALLOWED_ORIGINS` (Hummingbird's CORS middleware
/// does the answering); requests from any other origin get no CORS headers.
struct AllowedOriginsCORSMiddleware: RouterMiddleware {
    typealias Context = LatchkeyRequestContext
    let allowedOrigins: Set<String>
    let cors = CORSMiddleware<LatchkeyRequestContext>(
        allowOrigin: .originBased,
        allowHeaders: [.accept, .contentType, .origin],
        allowMethods: [.get, .post, .put, .delete, .options],
        allowCredentials: true,
        maxAge: .seconds(600)
    )

    func handle(
        _ request: Request,
        context: Context,
        next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        guard let origin = request.headers[.origin], allowedOrigins.contains(origin) else {
            return try await next(request, context)
        }
        return try await cors.handle(request, context: context, next: next)
    }
}

extension HTTPField.Name {
    static let secFetchSite = Self("Sec-Fetch-Site")!
    static let xForwardedFor = Self("X-Forwarded-For")!
}
