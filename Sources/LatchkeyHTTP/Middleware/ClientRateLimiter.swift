import Foundation
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

/// Applies the per-client limit to the routes the route table marks `clientLimited`.
struct ClientRateLimitMiddleware: RouterMiddleware {
    typealias Context = LatchkeyRequestContext
    let limiter: ClientRateLimiter
    /// The limited routes, as `METHOD /path` (`RouteTable.clientLimited`).
    let limited: Set<String>
    let resolver: ClientAddressResolver

    func handle(
        _ request: Request,
        context: Context,
        next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        guard limited.contains("\(request.method.rawValue) \(request.uri.path)") else {
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
