import Foundation
import LatchkeyCore

extension Settings {
    /// The characters of an RFC 6265 cookie name (an RFC 7230 token).
    private static let cookieNameCharacters = Set(
        "!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz".utf8)

    /// Reads `SESSION_COOKIE_NAME`, `METRICS_ENABLED` with `METRICS_TOKEN`'s production rule, and
    /// `PUBLIC_URL`, after the cookie's `Secure` and the metrics token are known.
    /// - Throws: `ConfigurationError` with a problem for each setting: a cookie name that is not a token; a
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
        var problems: [String] = []
        if let raw = text(.sessionCookieDomain) {
            let domain = raw.hasPrefix(".") ? String(raw.dropFirst()) : raw
            // A DNS name of two labels or more (a cookie for a public suffix is refused by browsers).
            if let entry = AllowedRedirectHost(domain), entry.port == nil, !entry.includesSubdomains,
                entry.host.contains(".") || entry.host == "localhost"
            {
                settings.sessionCookieDomain = entry.host
            } else {
                problems.append("SESSION_COOKIE_DOMAIN: '\(raw)' is not a domain name such as example.com")
            }
        }
        let defaultName = settings.sessionCookieDomain == nil ? "__Host-session_id" : "__Secure-session_id"
        let name = text(.sessionCookieName) ?? (production ? defaultName : "session_id")
        let prefixed = name.hasPrefix("__Host-") || name.hasPrefix("__Secure-")
        if name.hasPrefix("__Host-") && settings.sessionCookieDomain != nil {
            problems.append(
                "SESSION_COOKIE_NAME: '\(name)' cannot go with SESSION_COOKIE_DOMAIN: a __Host- cookie has no Domain; use __Secure-"
            )
        } else if name.isEmpty || !name.utf8.allSatisfy({ cookieNameCharacters.contains($0) }) {
            problems.append(
                "SESSION_COOKIE_NAME: '\(name)' is not a cookie name (letters, digits, and !#$%&'*+-.^_`|~)")
        } else if prefixed && !settings.secureCookies {
            problems.append(
                "SESSION_COOKIE_NAME: '\(name)' needs SESSION_COOKIE_SECURE=true: browsers drop such cookies without Secure"
            )
        } else if production && !prefixed {
            problems.append("SESSION_COOKIE_NAME: '\(name)' must start with __Host- or __Secure- in production")
        } else {
            settings.sessionCookieName = name
        }
        settings.metricsEnabled = try boolean(.metricsEnabled, true)
        if production && settings.metricsEnabled && settings.metricsToken == nil {
            problems.append(
                "METRICS_TOKEN: must be set in production, or METRICS_ENABLED=false: open metrics tell who has an account"
            )
        }
        if let url = text(.publicURL) {
            do {
                settings.publicOrigin = try publicOrigin(of: url)
                settings.publicURL = url
            } catch {
                problems.append(contentsOf: error.problems)
            }
        }
        if let domain = settings.sessionCookieDomain, let url = settings.publicURL,
            let host = URLComponents(string: url)?.host?.lowercased(), host != domain, !host.hasSuffix("." + domain)
        {
            problems.append(
                "SESSION_COOKIE_DOMAIN: PUBLIC_URL's host \(host) is outside \(domain): the login could not set the cookie"
            )
        }
        // The pages' links are built from PUBLIC_URL alone, never from a request's Host: in
        // production the pages need it, and stay off without it (`serve` says so).
        settings.uiEnabled = try boolean(.uiEnabled, true) && !(production && text(.publicURL) == nil)
        // Checked, with the files, when the pages are made (`PageFiles`): start-up names the file.
        settings.uiTitle = text(.uiTitle) ?? settings.uiTitle
        settings.uiLogoPath = text(.uiLogoPath)
        settings.uiTemplatesDirectory = text(.uiTemplatesDir)
        for entry in (text(.allowedRedirectHosts) ?? "").split(separator: ",") {
            let trimmed = entry.trimmingCharacters(in: .whitespaces)
            guard let host = AllowedRedirectHost(trimmed) else {
                problems.append(
                    "ALLOWED_REDIRECT_HOSTS: '\(trimmed)' is not a host name (app.example.com) or a domain (.example.com), with an optional :port"
                )
                continue
            }
            settings.allowedRedirectHosts.append(host)
        }
        guard problems.isEmpty else { throw ConfigurationError(problems: problems) }
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

extension Settings {
    /// Reads `ALLOWED_ORIGINS`: comma-separated `http(s)://host[:port]` origins.
    /// - Throws: `ConfigurationError` with one problem per entry that is not an origin.
    static func loadAllowedOrigins(_ raw: String, into settings: inout Settings) throws(ConfigurationError) {
        var problems: [String] = []
        for entry in raw.split(separator: ",") {
            let origin = entry.trimmingCharacters(in: .whitespaces)
            guard let components = URLComponents(string: origin), let scheme = components.scheme,
                ["http", "https"].contains(scheme), components.host?.isEmpty == false,
                components.path.isEmpty, components.query == nil, components.fragment == nil,
                components.user == nil
            else {
                problems.append("ALLOWED_ORIGINS: '\(origin)' is not an origin such as https://app.example.com")
                continue
            }
            settings.allowedOrigins.append(origin)
        }
        guard problems.isEmpty else { throw ConfigurationError(problems: problems) }
    }
}

extension Settings {
    /// The URL to open for a listening address: a wildcard address (`0.0.0.0`, `::`) as
    /// `localhost`, an IPv6 address in brackets.
    /// - Parameters:
    ///   - host: The address listened on, as configured (`HOST`).
    ///   - port: The port listened on.
    /// - Returns: `http://host:port/`.
    static func url(host: String, port: Int) -> String {
        let shown: String
        switch host {
        case "0.0.0.0", "::", "[::]", "": shown = "localhost"
        case let address where address.contains(":") && !address.hasPrefix("["): shown = "[\(address)]"
        default: shown = host
        }
        return "http://\(shown):\(port)/"
    }
}
