import Hummingbird

/// Adds the headers every response of an authentication service should carry, errors included:
/// `X-Content-Type-Options: nosniff`, and `Cache-Control: no-store`, because nearly every answer
/// holds a session, a token or a user's data, and none is worth caching.
struct SecurityHeadersMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(
        _ request: Request,
        context: Context,
        next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        var response = try await next(request, context)
        response.headers[.xContentTypeOptions] = "nosniff"
        response.headers[.cacheControl] = "no-store"
        return response
    }
}
