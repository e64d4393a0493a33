import Foundation
import Hummingbird
import LatchkeyCore

/// The operations routes: metrics and the OpenAPI document.
struct OperationsRoutes: Sendable {
    let auth: Auth
    let operations: Operations

    func metrics(_ request: Request) throws -> Response {
        guard let render = operations.metrics else { throw APIError(.notFound, "not found") }
        if let token = operations.metricsToken {
            let expected = Array("Bearer \(token)".utf8)
            let given = Array((request.headers[.authorization] ?? "").utf8)
            guard given.count == expected.count, zip(given, expected).reduce(0, { $0 | ($1.0 ^ $1.1) }) == 0 else {
                throw APIError(
                    .unauthorized, "metrics need Authorization: Bearer <METRICS_TOKEN>",
                    headers: [.wwwAuthenticate: "Bearer"])
            }
        }
        return Response(
            status: .ok,
            headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
            body: ResponseBody(byteBuffer: ByteBuffer(bytes: render()))
        )
    }

    func openAPI(_ request: Request) throws -> Response {
        guard let document = operations.openAPIDocument else { throw APIError(.notFound, "not found") }
        return Response(
            status: .ok,
            headers: [.contentType: "application/json"],
            body: ResponseBody(byteBuffer: ByteBuffer(bytes: document))
        )
    }
}
