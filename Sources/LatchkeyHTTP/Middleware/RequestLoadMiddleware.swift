import Hummingbird
import LatchkeyCore

/// Runs each request under `RequestLoad`, so that hashing gives way while requests that do not
/// hash are being served.
struct RequestLoadMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(
        _ request: Request,
        context: Context,
        next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        try await RequestLoad.serve { try await next(request, context) }
    }
}
