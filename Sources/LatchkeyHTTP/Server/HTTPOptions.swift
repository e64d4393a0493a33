import Hummingbird
import LatchkeyCore

/// The HTTP settings that are not rules of `Auth`.
public struct HTTPOptions: Sendable {
    /// Whether the session cookie carries `Secure` (set it behind TLS).
    public var secureCookies: Bool
    /// Origins answered with CORS (credentials allowed), and, when `refuseCrossSite` is set, the
    /// only origins whose state-changing requests are accepted.
    public var allowedOrigins: [String]
    /// Whether state-changing cross-site requests are refused with 403 (production).
    public var refuseCrossSite: Bool
    /// Requests per client address per minute on the routes that hash or issue tokens; 0 is off.
    public var rateLimitPerMinute: Int
    /// Proxies whose `X-Forwarded-For` is believed.
    public var trustedProxies: [IPNetwork]
    /// Metrics and the OpenAPI document.
    public var operations: Operations
    /// The session cookie's name: `session_id`, the original's, unless configured.
    public var sessionCookieName: String
    /// The session cookie's `Domain` (`SESSION_COOKIE_DOMAIN`), or `nil` for the host alone.
    public var sessionCookieDomain: String?

    /// The session cookie as every surface reads and sets it.
    public var sessionCookie: SessionCookie {
        SessionCookie(name: sessionCookieName, secure: secureCookies, domain: sessionCookieDomain)
    }
    /// The service's own origin (`scheme://host[:port]`), whose state-changing requests are
    /// same-origin when cross-site requests are refused.
    public var publicOrigin: String?
    /// Where a browser may be sent back to after logging in or out (`ALLOWED_REDIRECT_HOSTS`).
    public var redirectRule = RedirectRule(hosts: [], allowsPlainHTTP: false)
    /// The login page's absolute URL (`PUBLIC_URL/ui/login`) when the pages are served: where
    /// `/auth/verify` sends a browser without a session.
    public var loginPageURL: String?
    /// How an error under `/ui` is answered (an HTML page, in the request's language); `nil`
    /// answers it as the API does.
    public var errorPage: (@Sendable (APIError, Request) -> Response)?

    /// Creates the options.
    /// - Parameters:
    ///   - secureCookies: Whether the session cookie carries `Secure`.
    ///   - allowedOrigins: Origins answered with CORS and accepted across sites.
    ///   - refuseCrossSite: Whether state-changing cross-site requests are refused.
    ///   - rateLimitPerMinute: The per-client limit; 0 is off.
    ///   - trustedProxies: Proxies whose `X-Forwarded-For` is believed.
    ///   - operations: Metrics and the OpenAPI document.
    ///   - sessionCookieName: The session cookie's name.
    ///   - publicOrigin: The service's own origin, if known.
    public init(
        secureCookies: Bool = false,
        allowedOrigins: [String] = [],
        refuseCrossSite: Bool = false,
        rateLimitPerMinute: Int = 0,
        trustedProxies: [IPNetwork] = [],
        operations: Operations = Operations(),
        sessionCookieName: String = "session_id",
        publicOrigin: String? = nil
    ) {
        self.secureCookies = secureCookies
        self.allowedOrigins = allowedOrigins
        self.refuseCrossSite = refuseCrossSite
        self.rateLimitPerMinute = rateLimitPerMinute
        self.trustedProxies = trustedProxies
        self.operations = operations
        self.sessionCookieName = sessionCookieName
        self.publicOrigin = publicOrigin
    }
}
