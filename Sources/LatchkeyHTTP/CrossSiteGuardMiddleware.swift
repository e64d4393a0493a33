import Foundation
import Hummingbird
import LatchkeyCore

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
