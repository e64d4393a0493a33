import HTTPTypes

/// The header names Latchkey reads or writes that `HTTPTypes` does not define.
extension HTTPField.Name {
    /// The browser's statement of where a request comes from (Fetch Metadata).
    public static let secFetchSite = Self("Sec-Fetch-Site")!
    /// The client address chain a proxy adds; believed only from `TRUSTED_PROXIES`.
    static let xForwardedFor = Self("X-Forwarded-For")!
    /// The request's identifier, echoed or made up, and logged.
    static let xRequestID = Self("X-Request-ID")!
    /// The session's user id, answered by `GET /auth/verify` for a reverse proxy.
    static let latchkeyUserID = Self("X-Latchkey-User-Id")!
    /// How the session was made (NIST SP 800-63B authenticator assurance level: 1 or 2),
    /// answered by `GET /auth/verify` so that an application can ask for more.
    static let latchkeyAAL = Self("X-Latchkey-AAL")!
    /// The session's email, answered by `GET /auth/verify` for a reverse proxy.
    static let latchkeyEmail = Self("X-Latchkey-Email")!
}
