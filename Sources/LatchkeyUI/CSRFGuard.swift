import Foundation
import HTTPTypes
import Hummingbird
import LatchkeyCore
import LatchkeyHTTP

/// Cross-site request forgery, refused twice on every `POST` under `/ui` (OWASP ASVS 5.0 3.5.1,
/// OWASP's CSRF Prevention Cheat Sheet), in both profiles:
///
/// - A synchronizer token bound to the browser by a cookie: a page's form carries the value of
///   the browser's CSRF cookie (`__Host-latchkey_csrf` in production, `latchkey_csrf` in
///   development; 32 random bytes, base64url), set when the page is first shown; a `POST` whose
///   `csrf_token` is not that cookie's value is refused. Another site can neither read the cookie
///   nor, under the `__Host-` prefix, set it from a sibling host; the values are compared through
///   their SHA-256, so that the comparison tells nothing of the cookie.
/// - The browser's own word: `Sec-Fetch-Site: cross-site` or `same-site`, or an `Origin` that is
///   not this service's, is refused. `Origin: null` with `Sec-Fetch-Site: same-origin` is what
///   Chromium sends for a page's own form under `Referrer-Policy: no-referrer`: same-origin.
struct CSRFGuard: Sendable {
    /// The field a form carries the token in.
    static let field = "csrf_token"

    /// The cookie's name.
    let cookieName: String
    /// Whether the cookie carries `Secure` (the `__Host-` prefix needs it).
    let secure: Bool
    /// This service's origin (`PUBLIC_URL`'s), or `nil` to take the request's `Host` for it.
    let publicOrigin: String?

    /// The guard for a profile.
    /// - Parameters:
    ///   - production: Whether the cookie takes the `__Host-` prefix.
    ///   - secure: Whether it carries `Secure`.
    ///   - publicOrigin: This service's origin, if known.
    init(production: Bool, secure: Bool, publicOrigin: String?) {
        cookieName = production ? "__Host-latchkey_csrf" : "latchkey_csrf"
        self.secure = secure || production
        self.publicOrigin = publicOrigin
    }

    /// The token a page's forms carry: the browser's, or a new one.
    /// - Parameter request: The page's request.
    /// - Returns: The token, and the `Set-Cookie` header to send when it is new.
    func token(for request: Request) -> (token: String, cookie: HTTPField?) {
        if let value = request.cookies[cookieName]?.value, SecretToken.isWellFormed(value) {
            return (value, nil)
        }
        let token = SecretToken.generate()
        var attributes = ["\(cookieName)=\(token)", "Path=/", "HttpOnly", "SameSite=Strict"]
        if secure { attributes.insert("Secure", at: 2) }
        return (token, HTTPField(name: .setCookie, value: attributes.joined(separator: "; ")))
    }

    /// Checks a form's `POST`.
    /// - Parameters:
    ///   - request: The request.
    ///   - fields: Its form.
    /// - Throws: `PageRefusal.crossSite` or `PageRefusal.expiredForm` (both 403).
    func check(_ request: Request, fields: Fields) throws {
        let site = request.headers[.secFetchSite]?.lowercased()
        if site == "cross-site" || site == "same-site" { throw PageRefusal.crossSite }
        if let origin = request.headers[.origin] {
            let sameOrigin = origin == "null" ? site == "same-origin" : isOwn(origin, request: request)
            guard sameOrigin else { throw PageRefusal.crossSite }
        }
        guard let cookie = request.cookies[cookieName]?.value, SecretToken.isWellFormed(cookie),
            let sent = try? fields.optional(Self.field),
            TokenDigest(of: sent) == TokenDigest(of: cookie)
        else { throw PageRefusal.expiredForm }
    }

    /// Whether `origin` is this service's: `PUBLIC_URL`'s, or without it, one whose host is the
    /// request's `Host`.
    private func isOwn(_ origin: String, request: Request) -> Bool {
        if let publicOrigin { return origin == publicOrigin }
        guard let host = request.head.authority, let schemeEnd = origin.range(of: "://") else { return false }
        return origin[schemeEnd.upperBound...] == host[...]
    }
}
