/// Where a browser may be sent back after logging in, logging out or stepping up: an absolute
/// `http(s)` URL on a host the operator allows (`ALLOWED_REDIRECT_HOSTS`). The only way to make
/// one is `RedirectRule.returnAddress(_:)`, so a redirect built from a `ReturnAddress` is never
/// open (OWASP ASVS 5.0 1.2.2; the "unvalidated redirects" of the OWASP Top 10).
///
/// The URL is kept exactly as given: it is accepted whole or refused, never repaired.
public struct ReturnAddress: Sendable, Hashable, CustomStringConvertible {
    /// The URL, as given: printable ASCII only.
    public let url: String
    /// Its origin, `scheme://host[:port]`, lowercased, without the scheme's default port.
    public let origin: String

    fileprivate init(url: String, origin: String) {
        self.url = url
        self.origin = origin
    }

    /// The URL.
    public var description: String { url }
}

/// An entry of `ALLOWED_REDIRECT_HOSTS`: a host (`app.example.com`), or a domain with its
/// subdomains (`.example.com`), optionally with a port (`app.example.com:8443`).
public struct AllowedRedirectHost: Sendable, Hashable, CustomStringConvertible {
    /// The host or domain, lowercase ASCII (an IDN as its A-label), without the leading dot.
    public let host: String
    /// Whether the entry is a domain (`.example.com`): the domain itself and every name under it.
    public let includesSubdomains: Bool
    /// The port the entry names; `nil` for the scheme's default.
    public let port: Int?

    /// Reads an entry.
    /// - Parameter entry: `host`, `.domain`, either with `:port` (1 to 65535).
    /// - Returns: `nil` when the entry is not a DNS name of letters, digits and hyphens (labels
    ///   of 1 to 63 characters, not starting or ending with a hyphen; an IP address, a trailing
    ///   dot, a wildcard or non-ASCII is not an entry), has one label only (`.com`; `localhost`
    ///   is the exception), or its port is not a number in range. A public suffix of more labels
    ///   (`.co.uk`) is not known here: the operator lists the hosts they own.
    public init?(_ entry: String) {
        var text = Substring(entry.lowercased())
        includesSubdomains = text.hasPrefix(".")
        if includesSubdomains { text = text.dropFirst() }
        var port: Int?
        if let colon = text.lastIndex(of: ":") {
            guard let number = RedirectRule.port(text[text.index(after: colon)...]) else { return nil }
            port = number
            text = text[..<colon]
        }
        // One label is a top-level domain (`.com` would allow every host under it), except `localhost`.
        guard RedirectRule.isHostName(text), text.contains(".") || text == "localhost" else { return nil }
        host = String(text)
        self.port = port
    }

    /// Whether `host` (lowercase) is this entry's host or, for a domain, a name under it, on a
    /// label boundary.
    func covers(_ candidate: Substring) -> Bool {
        if candidate == host { return true }
        guard includesSubdomains, candidate.count > host.count + 1 else { return false }
        return candidate.hasSuffix("." + host)
    }

    /// The entry as it is written: `.example.com:8443`.
    public var description: String { (includesSubdomains ? "." : "") + host + (port.map { ":\($0)" } ?? "") }
}

/// The rule a return address must meet: the hosts allowed, and whether plain `http` is.
public struct RedirectRule: Sendable {
    /// The allowed hosts (`ALLOWED_REDIRECT_HOSTS`); empty allows none.
    public let hosts: [AllowedRedirectHost]
    /// Whether `http` is allowed for every host (development); otherwise only for `localhost`
    /// and names under `.localhost` (RFC 6761 section 6.3: they never leave the machine).
    public let allowsPlainHTTP: Bool

    /// The longest URL accepted, in bytes.
    public static let maximumLength = 2_048

    /// A rule.
    /// - Parameters:
    ///   - hosts: The allowed hosts.
    ///   - allowsPlainHTTP: Whether `http` is allowed for every host (development).
    public init(hosts: [AllowedRedirectHost], allowsPlainHTTP: Bool) {
        self.hosts = hosts
        self.allowsPlainHTTP = allowsPlainHTTP
    }

    /// The return address `text` is, or `nil`.
    ///
    /// Accepted: `http://` or `https://` (the scheme in any case), an authority that is a host
    /// covered by an entry (case-insensitively) with the entry's port or else none or the scheme's
    /// default, then a path, query and fragment of RFC 3986 characters. Refused, among others: a
    /// relative or scheme-relative URL (`/x`, `//evil.example`), a scheme without `//`, any other
    /// scheme (`javascript:`, `data:`), a backslash anywhere, white space, control or non-ASCII
    /// characters anywhere (no look-alike survives), userinfo (`@` in the authority), `%` in the
    /// authority, an IP address in any form, a trailing dot, an empty port, a `%` not followed by two
    /// hex digits, a second `#`, and anything over 2,048 bytes.
    public func returnAddress(_ text: String) -> ReturnAddress? {
        let bytes = Array(text.utf8)
        guard !bytes.isEmpty, bytes.count <= Self.maximumLength,
            bytes.allSatisfy({ $0 > 0x20 && $0 < 0x7F && $0 != UInt8(ascii: "\\") })
        else { return nil }
        let lowered = text.lowercased()
        let scheme: String
        if lowered.hasPrefix("https://") {
            scheme = "https"
        } else if lowered.hasPrefix("http://") {
            scheme = "http"
        } else {
            return nil
        }
        let rest = text.dropFirst(scheme.count + 3)
        let authorityEnd = rest.firstIndex { $0 == "/" || $0 == "?" || $0 == "#" } ?? rest.endIndex
        let authority = rest[..<authorityEnd].lowercased()[...]
        guard !authority.contains("@"), !authority.contains("%"), !authority.contains("["),
            Self.isPathQueryFragment(rest[authorityEnd...])
        else { return nil }
        var host = authority
        var port: Int?
        if let colon = authority.lastIndex(of: ":") {
            guard let number = Self.port(authority[authority.index(after: colon)...]) else { return nil }
            port = number
            host = authority[..<colon]
        }
        guard Self.isHostName(host) else { return nil }
        if scheme == "http" && !allowsPlainHTTP && host != "localhost" && !host.hasSuffix(".localhost") {
            return nil
        }
        let defaultPort = scheme == "https" ? 443 : 80
        let allowed = hosts.contains { entry in
            entry.covers(host) && (port ?? defaultPort) == (entry.port ?? defaultPort)
        }
        guard allowed else { return nil }
        let shownPort = (port ?? defaultPort) == defaultPort ? "" : ":\(port ?? defaultPort)"
        return ReturnAddress(url: text, origin: "\(scheme)://\(host)\(shownPort)")
    }

    /// The origins a form may be sent to on its way back, for a page's CSP `form-action`:
    /// `https://host[:port]` per entry (and `http://` where plain HTTP is allowed), a domain as
    /// both `https://example.com` and `https://*.example.com`.
    public var formActionSources: [String] {
        var sources: [String] = []
        for entry in hosts {
            let port = entry.port.map { ":\($0)" } ?? ""
            let local = entry.host == "localhost" || entry.host.hasSuffix(".localhost")
            let schemes = allowsPlainHTTP || local ? ["https", "http"] : ["https"]
            for scheme in schemes {
                sources.append("\(scheme)://\(entry.host)\(port)")
                if entry.includesSubdomains { sources.append("\(scheme)://*.\(entry.host)\(port)") }
            }
        }
        return sources
    }

    /// A port as written after a host's colon: 1 to 5 ASCII digits naming 1 to 65535; `nil`
    /// otherwise (an empty port, a sign, a sixth digit).
    static func port(_ digits: Substring) -> Int? {
        guard !digits.isEmpty, digits.count <= 5, digits.allSatisfy({ $0.isASCII && $0.isNumber }),
            let number = Int(digits), (1...65_535).contains(number)
        else { return nil }
        return number
    }

    /// Whether `text` is a DNS name: labels of 1 to 63 letters, digits and hyphens, not starting or
    /// ending with a hyphen, separated by single dots, with no trailing dot; at most 253 bytes.
    /// An all-numeric last label (an IPv4 address in any notation) is refused by the callers.
    static func isHostName(_ text: Substring) -> Bool {
        guard !text.isEmpty, text.utf8.count <= 253 else { return false }
        let labels = text.split(separator: ".", omittingEmptySubsequences: false)
        guard let last = labels.last, !last.allSatisfy(\.isNumber), !last.hasPrefix("0x") else { return false }
        return labels.allSatisfy { label in
            !label.isEmpty && label.count <= 63 && !label.hasPrefix("-") && !label.hasSuffix("-")
                && label.utf8.allSatisfy { byte in
                    (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z"))
                        || (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")) || byte == UInt8(ascii: "-")
                }
        }
    }

    /// Whether the part after the authority is empty or a path, query and fragment of RFC 3986
    /// characters, each `%` followed by two hex digits, with at most one `#`, and no `[` or `]`.
    static func isPathQueryFragment(_ text: Substring) -> Bool {
        let allowed = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~!$&'()*+,;=:@/?#%".utf8)
        let hex = Set("0123456789abcdefABCDEF".utf8)
        let bytes = Array(text.utf8)
        var index = 0
        var fragments = 0
        while index < bytes.count {
            let byte = bytes[index]
            guard allowed.contains(byte) else { return false }
            if byte == UInt8(ascii: "#") {
                fragments += 1
                if fragments > 1 { return false }
            }
            if byte == UInt8(ascii: "%") {
                guard index + 2 < bytes.count, hex.contains(bytes[index + 1]), hex.contains(bytes[index + 2]) else {
                    return false
                }
                index += 2
            }
            index += 1
        }
        return true
    }
}
