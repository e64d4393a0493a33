import NIOHTTP1

/// The reason phrases of the original service's server: Werkzeug 3.1 writes
/// `werkzeug.http.HTTP_STATUS_CODES[code].upper()` on the status line (`302 FOUND`,
/// `401 UNAUTHORIZED`), and clients written against it may read the line. RFC 9112 4 lets a
/// server send any phrase (a client should ignore it), so sending these costs nothing.
///
/// A route cannot choose the phrase: NIO's encoder writes its own for every status it knows. The
/// connection handler replaces the status of each final response head with
/// `HTTPResponseStatus.custom(code:reasonPhrase:)` instead, but for 204 and 304: NIO frames a
/// custom status as one that may carry a body, and would add a chunked body to those two.
enum OriginalReasonPhrase {
    /// The status to write for `status`: the same code with Werkzeug's phrase in capitals, or
    /// `status` itself for an informational status, 204, 304 and a code Werkzeug does not know.
    /// - Parameter status: The status the route answered with.
    /// - Returns: The status to put on the status line.
    static func status(for status: HTTPResponseStatus) -> HTTPResponseStatus {
        let code = Int(status.code)
        guard code >= 200, code != 204, code != 304, let phrase = phrases[code] else { return status }
        return .custom(code: UInt(code), reasonPhrase: phrase)
    }

    /// Werkzeug 3.1's `HTTP_STATUS_CODES` for the final statuses, in capitals.
    static let phrases: [Int: String] = [
        200: "OK", 201: "CREATED", 202: "ACCEPTED", 203: "NON AUTHORITATIVE INFORMATION", 205: "RESET CONTENT",
        206: "PARTIAL CONTENT", 207: "MULTI STATUS", 208: "ALREADY REPORTED", 226: "IM USED",
        300: "MULTIPLE CHOICES", 301: "MOVED PERMANENTLY", 302: "FOUND", 303: "SEE OTHER", 305: "USE PROXY",
        306: "SWITCH PROXY", 307: "TEMPORARY REDIRECT", 308: "PERMANENT REDIRECT",
        400: "BAD REQUEST", 401: "UNAUTHORIZED", 402: "PAYMENT REQUIRED", 403: "FORBIDDEN", 404: "NOT FOUND",
        405: "METHOD NOT ALLOWED", 406: "NOT ACCEPTABLE", 407: "PROXY AUTHENTICATION REQUIRED",
        408: "REQUEST TIMEOUT", 409: "CONFLICT", 410: "GONE", 411: "LENGTH REQUIRED", 412: "PRECONDITION FAILED",
        413: "REQUEST ENTITY TOO LARGE", 414: "REQUEST URI TOO LONG", 415: "UNSUPPORTED MEDIA TYPE",
        416: "REQUESTED RANGE NOT SATISFIABLE", 417: "EXPECTATION FAILED", 418: "I'M A TEAPOT",
        421: "MISDIRECTED REQUEST", 422: "UNPROCESSABLE ENTITY", 423: "LOCKED", 424: "FAILED DEPENDENCY",
        425: "TOO EARLY", 426: "UPGRADE REQUIRED", 428: "PRECONDITION REQUIRED", 429: "TOO MANY REQUESTS",
        431: "REQUEST HEADER FIELDS TOO LARGE", 449: "RETRY WITH", 451: "UNAVAILABLE FOR LEGAL REASONS",
        500: "INTERNAL SERVER ERROR", 501: "NOT IMPLEMENTED", 502: "BAD GATEWAY", 503: "SERVICE UNAVAILABLE",
        504: "GATEWAY TIMEOUT", 505: "HTTP VERSION NOT SUPPORTED", 506: "VARIANT ALSO NEGOTIATES",
        507: "INSUFFICIENT STORAGE", 508: "LOOP DETECTED", 510: "NOT EXTENDED",
        511: "NETWORK AUTHENTICATION FAILED",
    ]
}
