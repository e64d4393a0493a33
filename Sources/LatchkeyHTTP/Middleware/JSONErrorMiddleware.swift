import Hummingbird
import LatchkeyCore

/// Turns every error into the API's JSON error shape, so that no client ever sees an HTML
/// page, an empty error body or a stack trace; under `/ui`, into the pages' HTML error page
/// instead, when there are pages (`HTTPOptions.errorPage`). It also answers 405 with `Allow` for a
/// known path with a method it does not serve.
struct JSONErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    /// The methods each path serves, for 405 answers.
    let allowedMethods: [String: [HTTPRequest.Method]]
    /// The pages' error page, for paths under `/ui`.
    var errorPage: (@Sendable (APIError, Request) -> Response)? = nil

    func handle(
        _ request: Request,
        context: Context,
        next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        do {
            return try await next(request, context)
        } catch {
            let refusal = self.refusal(error, request: request, context: context)
            let path = request.uri.path
            if let errorPage, path == "/ui" || path.hasPrefix("/ui/"), refusal.status.code != 499 {
                return errorPage(refusal, request)
            }
            return refusal.response
        }
    }

    /// The API error an error is.
    private func refusal(_ error: any Error, request: Request, context: Context) -> APIError {
        switch error {
        case let error as APIError:
            return error
        case let error as AuthError:
            return APIError(error)
        case let error as HTTPError:
            if error.status == .notFound, let methods = allowedMethods[request.uri.path] {
                let allow = methods.map(\.rawValue).joined(separator: ", ")
                return APIError(.methodNotAllowed, "method not allowed", headers: [.allow: allow])
            }
            return APIError(error.status, error.body ?? error.status.reasonPhrase.lowercased())
        case let error as any HTTPResponseError:
            return APIError(error.status, error.status.reasonPhrase.lowercased())
        case is CancellationError:
            // The client went before its answer (`whileClientStays`): nobody reads this response;
            // the access log shows 499, the status proxies use for it.
            return APIError(.init(code: 499, reasonPhrase: "Client Closed Request"), "client closed the connection")
        default:
            context.logger.error("unexpected error", metadata: ["error": "\(String(reflecting: type(of: error)))"])
            return APIError(.internalServerError, "internal error")
        }
    }
}
