import Foundation
import Hummingbird
import LatchkeyCore
import Synchronization

/// Gives every request an id and logs one line per request: method, route, status, duration.
///
/// The id is the client's `X-Request-ID` when it is 1 to 128 of `A-Za-z0-9._-`, otherwise the
/// id Hummingbird gives each request (`hb.request.id`, already on every log line of the
/// request); it is set on the response and on the request's log line (`request_id`). Nothing
/// from the request body, cookies or query reaches the log.
struct RequestLogMiddleware: RouterMiddleware {
    typealias Context = LatchkeyRequestContext

    func handle(
        _ request: Request,
        context: Context,
        next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        var context = context
        let id: String
        if let given = request.headers[.xRequestID].flatMap(Self.acceptedID) {
            id = given
            // Only then is the logger changed: setting metadata costs a re-render of it.
            context.logger[metadataKey: "request_id"] = "\(given)"
        } else if case .stringConvertible(let own)? = context.logger[metadataKey: "hb.request.id"] {
            // Hummingbird already tags every log line of the request with its own id: use it.
            id = own.description
        } else {
            id = Self.newID()
        }
        let started = ContinuousClock.now
        var response = try await next(request, context)
        response.headers[.xRequestID] = id
        let elapsed = ContinuousClock.now - started
        let milliseconds = Double(elapsed.components.seconds) * 1000 + Double(elapsed.components.attoseconds) / 1e15
        context.logger.info(
            "request",
            metadata: [
                "request_id": "\(id)",
                "method": "\(request.method.rawValue)",
                "route": "\(context.endpointPath ?? "unmatched")",
                "status": .stringConvertible(response.status.code),
                "duration_ms": .stringConvertible((milliseconds * 1000).rounded() / 1000),
            ]
        )
        return response
    }

    static func acceptedID(_ value: String) -> String? {
        guard (1...128).contains(value.utf8.count),
            value.utf8.allSatisfy({ byte in
                (0x30...0x39).contains(byte) || (0x41...0x5A).contains(byte) || (0x61...0x7A).contains(byte)
                    || byte == 0x2E || byte == 0x5F || byte == 0x2D
            })
        else { return nil }
        return value
    }

    /// A new id: a random prefix chosen when the process starts and a counter, unique per
    /// process and cheap (a request id is a correlation handle, not a secret).
    static func newID() -> String {
        "\(idPrefix)-\(idCounter.add(1, ordering: .relaxed).newValue)"
    }

    private static let idPrefix = SecretToken.generate(byteCount: 9)
    private static let idCounter = Atomic<Int>(0)
}
