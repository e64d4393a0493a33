import Foundation
import Hummingbird
import LatchkeyCore

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
