import Foundation
import Hummingbird
import LatchkeyCore

/// Refuses cross-site requests that change state (production). Accepted: requests the browser
/// says are same-origin (`Sec-Fetch-Site: same-origin`), requests whose `Origin` is one of
/// `ALLOWED_ORIGINS` or the service's own (`PUBLIC_URL`), and requests with neither header (a
/// backend, `curl`). Refused with 403: `Sec-Fetch-Site: cross-site`, or `same-site` (another
/// host of the same site is not this service), or any other `Origin`.
struct CrossSiteGuardMiddleware: RouterMiddleware {
    typealias Context = LatchkeyRequestContext
    let allowedOrigins: Set<String>
    let publicOrigin: String?

    func handle(
        _ request: Request,
        context: Context,
        next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        switch request.method {
        case .get, .head, .options:
            return try await next(request, context)
        default:
            let origin = request.headers[.origin]
            let trusted = origin.map { allowedOrigins.contains($0) || $0 == publicOrigin } ?? false
            switch request.headers[.secFetchSite]?.lowercased() {
            case "same-origin":
                return try await next(request, context)
            case "cross-site", "same-site":
                guard trusted else { throw APIError(.forbidden, "cross-site request refused") }
            default:
                break
            }
            if origin != nil && !trusted {
                throw APIError(.forbidden, "cross-site request refused: origin not allowed")
            }
            return try await next(request, context)
        }
    }
}
