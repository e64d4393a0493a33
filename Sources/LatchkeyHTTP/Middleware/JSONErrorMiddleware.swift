import Hummingbird
import LatchkeyCore

/// Turns every error into the API's JSON error shape, so that no client ever sees an HTML
/// page, an empty error body or a stack trace. It also answers 405 with `Allow` for a
/// known path with a method it does not serve.
struct JSONErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    /// The methods each path serves, for 405 answers.
    let allowedMethods: [String: [HTTPRequest.Method]]

    func handle(
        _ request: Request,
        context: Context,
        next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as APIError {
            return error.response
        } catch let error as AuthError {
            return APIError(error).response
        } catch let error as HTTPError {
            if error.status == .notFound, let methods = allowedMethods[request.uri.path] {
                let allow = methods.map(\.rawValue).joined(separator: ", ")
                return APIError(.methodNotAllowed, "method not allowed", headers: [.allow: allow]).response
            }
            return APIError(error.status, error.body ?? error.status.reasonPhrase.lowercased()).response
        } catch let error as any HTTPResponseError {
            return APIError(error.status, error.status.reasonPhrase.lowercased()).response
        } catch is CancellationError {
            // The client went before its answer (`AuthRoutes.whileClientStays`): nobody reads
            // this response; the access log shows 499, the status proxies use for it.
            return APIError(.init(code: 499, reasonPhrase: "Client Closed Request"), "client closed the connection")
                .response
        } catch {
            context.logger.error("unexpected error", metadata: ["error": "\(String(reflecting: type(of: error)))"])
            return APIError(.internalServerError, "internal error").response
        }
    }
}
