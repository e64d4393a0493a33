import Foundation
import HTTPTypes
import Hummingbird
import LatchkeyCore

extension HTTPField.Name {
    static let originalURL = Self("X-Original-URL")!
    static let originalMethod = Self("X-Original-Method")!
    static let forwardedProto = Self("X-Forwarded-Proto")!
    static let forwardedHost = Self("X-Forwarded-Host")!
    static let forwardedURI = Self("X-Forwarded-Uri")!
    static let forwardedMethod = Self("X-Forwarded-Method")!
}

/// `GET /auth/verify`, asked by a reverse proxy before it serves a request (nginx's
/// `auth_request`, Caddy's `forward_auth`, Traefik's forward auth). It fails closed: it answers
/// 204 or 401 and nothing else.
///
/// - 204 when the request carries a live session at the assurance level asked (`?aal=2`), with
///   every identity header (`X-Latchkey-User-Id`, `X-Latchkey-Email`, `X-Latchkey-AAL`), so that a
///   proxy copying them overwrites any a client sent.
/// - 401 otherwise: no cookie, an unreadable one, an ended session, a store that does not answer,
///   `aal` given twice or not 1 or 2, a one-factor session where 2 is asked. `Authorization` is
///   never read. With the pages served, a 401 for a `GET` or `HEAD` of an allowed URL carries
///   `Location: <PUBLIC_URL>/ui/login?rd=<the URL>` (with `&aal=2` for a step-up); for any other
///   method or URL the login page without `rd`; without `X-Original-URL` (or Caddy's
///   `X-Forwarded-Proto`, `-Host` and `-Uri`) no `Location`, as before.
struct ForwardAuth: Sendable {
    let auth: Auth
    let cookie: SessionCookie
    let rule: RedirectRule
    let loginPageURL: String?

    func verify(_ request: Request) async throws -> Response {
        let asked = request.uri.queryParameters.getAll("aal")
        guard asked.count <= 1, let level = asked.first.map({ Int($0) }) ?? 1, level == 1 || level == 2 else {
            throw refusal(request, stepUp: false)
        }
        let live: AuthenticatedSession
        do {
            live = try await cookie.liveSession(in: request, auth: auth)
        } catch is CancellationError {
            throw CancellationError()
        } catch {
            // An ended session, and a store that does not answer: both fail closed.
            throw refusal(request, stepUp: false)
        }
        guard live.aal >= level else { throw refusal(request, stepUp: true) }
        return Response(
            status: .noContent,
            headers: [.latchkeyUserID: "\(live.user.id)", .latchkeyEmail: live.user.email, .latchkeyAAL: "\(live.aal)"]
        )
    }

    /// The 401, with the login page to send the browser to when there is one.
    private func refusal(_ request: Request, stepUp: Bool) -> APIError {
        var headers: HTTPFields = [:]
        if let location = location(for: request, stepUp: stepUp) { headers[.location] = location }
        return APIError(.unauthorized, stepUp ? "second factor required" : "no live session", headers: headers)
    }

    /// `Location` for a 401: the login page, with `rd` when the proxy named an allowed URL the
    /// browser fetched with `GET` or `HEAD`.
    func location(for request: Request, stepUp: Bool) -> String? {
        guard let loginPageURL, let original = originalURL(of: request) else { return nil }
        let method = (request.headers[.originalMethod] ?? request.headers[.forwardedMethod] ?? "GET").uppercased()
        guard method == "GET" || method == "HEAD", let address = rule.returnAddress(original) else {
            return loginPageURL
        }
        let encoded = address.url.addingPercentEncoding(withAllowedCharacters: .urlUnreserved) ?? ""
        return "\(loginPageURL)?rd=\(encoded)" + (stepUp ? "&aal=2" : "")
    }

    /// The URL the proxy is asked about: nginx's `X-Original-URL`, or Caddy's
    /// `X-Forwarded-Proto`, `-Host` and `-Uri` put together; `nil` without either.
    func originalURL(of request: Request) -> String? {
        if let url = request.headers[.originalURL] { return Self.encodingLooseCharacters(url) }
        guard let proto = request.headers[.forwardedProto], let host = request.headers[.forwardedHost],
            let uri = request.headers[.forwardedURI]
        else { return nil }
        return Self.encodingLooseCharacters("\(proto)://\(host)\(uri)")
    }

    /// The URL with the characters browsers send as they are in a path or query (`[`, `]`, `{`,
    /// `}`, `|`, `^`, `` ` ``, `\`, `"`, `<`, `>`), which RFC 3986 does not allow there,
    /// percent-encoded after the authority, so that `?ids[]=1` can still be come back to. The
    /// authority is left as it is: the rule judges it.
    static func encodingLooseCharacters(_ url: String) -> String {
        guard let schemeEnd = url.range(of: "://") else { return url }
        let rest = url[schemeEnd.upperBound...]
        guard let authorityEnd = rest.firstIndex(where: { $0 == "/" || $0 == "?" || $0 == "#" }) else { return url }
        let loose = Set("[]{}|^`\\\"<>".utf8)
        var encoded = Array(url[..<authorityEnd].utf8)
        for byte in rest[authorityEnd...].utf8 {
            if loose.contains(byte) {
                encoded += Array("%\(String(byte, radix: 16, uppercase: true))".utf8)
            } else {
                encoded.append(byte)
            }
        }
        return String(decoding: encoded, as: UTF8.self)
    }
}
