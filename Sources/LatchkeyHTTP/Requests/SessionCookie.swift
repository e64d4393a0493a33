import Hummingbird
import LatchkeyCore

/// The session cookie under its configured name: which values a request carries, which of them
/// names a live session, and the exact `Set-Cookie` line.
public struct SessionCookie: Sendable {
    /// The cookie's name (`SESSION_COOKIE_NAME`).
    public let name: String
    /// Whether `Set-Cookie` carries `Secure`.
    public let secure: Bool
    /// The cookie's `Domain` (`SESSION_COOKIE_DOMAIN`): the session then reaches the domain's
    /// subdomains (the portal's applications); `nil` for the host alone.
    public let domain: String?

    /// The most values of the cookie tried per request: a browser sends one per matching path and
    /// domain, so a few are legitimate; more only make work.
    public static let maximumCandidates = 4

    /// Creates the cookie's description.
    /// - Parameters:
    ///   - name: The cookie's name (`session_id`, or `__Host-session_id` in production).
    ///   - secure: Whether `Set-Cookie` carries `Secure`.
    ///   - domain: The cookie's `Domain`, or `nil`.
    public init(name: String, secure: Bool, domain: String? = nil) {
        self.name = name
        self.secure = secure
        self.domain = domain
    }

    /// The well-formed values of the cookie in the request's `Cookie` headers, in order, at most
    /// `maximumCandidates`, without the double quotes RFC 6265 (4.1.1) allows around a value.
    /// Only this cookie is parsed, not the others: this runs on every session check.
    public func candidates(in request: Request) -> [String] {
        let name = Array(self.name.utf8)
        var found: [String] = []
        for header in request.headers[values: .cookie] {
            for pair in header.utf8.split(separator: UInt8(ascii: ";")) {
                var start = pair.startIndex
                while start < pair.endIndex, pair[start] == UInt8(ascii: " ") || pair[start] == UInt8(ascii: "\t") {
                    start = pair.index(after: start)
                }
                let trimmed = pair[start...]
                guard trimmed.count > name.count, trimmed.starts(with: name),
                    trimmed[trimmed.index(trimmed.startIndex, offsetBy: name.count)] == UInt8(ascii: "=")
                else { continue }
                var value = trimmed.dropFirst(name.count + 1)
                while let last = value.last, last == UInt8(ascii: " ") || last == UInt8(ascii: "\t") {
                    value = value.dropLast()
                }
                if value.count >= 2, value.first == UInt8(ascii: "\""), value.last == UInt8(ascii: "\"") {
                    value = value.dropFirst().dropLast()
                }
                let text = String(decoding: value, as: UTF8.self)
                guard SecretToken.isWellFormed(text) else { continue }
                found.append(text)
                if found.count == Self.maximumCandidates { return found }
            }
        }
        return found
    }

    /// The session that the first value naming a live one names (its user and assurance level
    /// readable; the rest opaque, for `Auth`'s rules).
    /// - Throws: `AuthError.invalidSession` when none does (or there is none).
    public func liveSession(in request: Request, auth: Auth) async throws -> AuthenticatedSession {
        for token in candidates(in: request) {
            do {
                return try await auth.authenticatedSession(token: token)
            } catch AuthError.invalidSession {
                continue
            }
        }
        throw AuthError.invalidSession
    }

    /// The `Set-Cookie` value, its attributes always in this order:
    /// `name=value; Max-Age=N; Path=/; [Domain=d; ][Secure; ]HttpOnly; SameSite=Lax`.
    /// - Parameters:
    ///   - value: The session token, or empty to clear the cookie.
    ///   - maxAge: Seconds the browser keeps it; 0 clears it.
    public func header(value: String, maxAge: Int) -> String {
        "\(name)=\(value); Max-Age=\(maxAge); Path=/; " + (domain.map { "Domain=\($0); " } ?? "")
            + (secure ? "Secure; " : "") + "HttpOnly; SameSite=Lax"
    }
}
