import Foundation

extension Settings {
    /// The characters of an RFC 6265 cookie name (an RFC 7230 token).
    private static let cookieNameCharacters = Set(
        "!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz".utf8)

    /// Reads `SESSION_COOKIE_NAME`, `METRICS_ENABLED` with `METRICS_TOKEN`'s production rule, and
    /// `PUBLIC_URL`, after the cookie's `Secure` and the metrics token are known.
    /// - Throws: `ConfigurationError` naming the setting: a cookie name that is not a token; a
    ///   `__Host-` or `__Secure-` name without `Secure` cookies (browsers drop such cookies); in
    ///   production, a name with neither prefix (OWASP ASVS 5.0 3.3.1), or metrics without a
    ///   token (counts of registrations and reset tokens would tell anyone who has an account);
    ///   a `PUBLIC_URL` that is not `http(s)://host[:port][/prefix]` without a trailing slash.
    static func loadHTTP(
        into settings: inout Settings,
        text: (Key) -> String?,
        boolean: (Key, Bool) throws(ConfigurationError) -> Bool
    ) throws(ConfigurationError) {
        let production = settings.profile == .production
        let name = text(.sessionCookieName) ?? (production ? "__Host-session_id" : "session_id")
        guard !name.isEmpty, name.utf8.allSatisfy({ cookieNameCharacters.contains($0) }) else {
            throw ConfigurationError(
                "SESSION_COOKIE_NAME: '\(name)' is not a cookie name (letters, digits, and !#$%&'*+-.^_`|~)")
        }
        let prefixed = name.hasPrefix("__Host-") || name.hasPrefix("__Secure-")
        if prefixed && !settings.secureCookies {
            throw ConfigurationError(
                "SESSION_COOKIE_NAME: '\(name)' needs SESSION_COOKIE_SECURE=true: browsers drop such cookies without Secure"
            )
        }
        if production && !prefixed {
            throw ConfigurationError(
                "SESSION_COOKIE_NAME: '\(name)' must start with __Host- or __Secure- in production")
        }
        settings.sessionCookieName = name
        settings.metricsEnabled = try boolean(.metricsEnabled, true)
        if production && settings.metricsEnabled && settings.metricsToken == nil {
            throw ConfigurationError(
                "METRICS_TOKEN: must be set in production, or METRICS_ENABLED=false: open metrics tell who has an account"
            )
        }
        if let url = text(.publicURL) {
            settings.publicOrigin = try publicOrigin(of: url)
        }
    }

    /// The origin of a `PUBLIC_URL`.
    private static func publicOrigin(of url: String) throws(ConfigurationError) -> String {
        guard let components = URLComponents(string: url), let scheme = components.scheme?.lowercased(),
            ["http", "https"].contains(scheme), let host = components.host, !host.isEmpty,
            components.user == nil, components.password == nil, components.query == nil, components.fragment == nil,
            !url.hasSuffix("/")
        else {
            throw ConfigurationError(
                "PUBLIC_URL: '\(url)' must be http(s)://host[:port][/prefix], without a trailing slash, query or fragment"
            )
        }
        return "\(scheme)://\(host.lowercased())" + (components.port.map { ":\($0)" } ?? "")
    }
}
