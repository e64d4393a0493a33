import Foundation

/// A logged-in session. The store knows it only by the SHA-256 of its token.
public struct Session: Sendable, Equatable {
    /// The SHA-256 of the token the client holds in its cookie.
    public var tokenDigest: TokenDigest
    /// The user the session belongs to.
    public var userID: Int64
    /// When the session was created.
    public var createdAt: Date
    /// When the session was last used (refreshed at most once a minute).
    public var lastSeenAt: Date
    /// The absolute end of the session, whatever its use.
    public var expiresAt: Date
    /// The session's public identifier, shown in the account's session list and used to end it
    /// (`publicIDLength` lowercase hexadecimal characters): random, and unrelated to the token,
    /// so that it can never be turned into the cookie or its digest.
    public var publicID: String
    /// The client's address when the session was created, resolved through `TRUSTED_PROXIES`;
    /// `nil` for sessions made before addresses were recorded.
    public var ip: String?
    /// The client's `User-Agent` when the session was created, at most
    /// `SessionOrigin.userAgentMaxLength` characters; `nil` when none was sent.
    public var userAgent: String?
    /// How the session was made (NIST SP 800-63B section 2, authenticator assurance level): 1
    /// for a password alone, 2 for a password and a second factor.
    public var aal: Int

    /// The length of a public identifier: 16 random bytes in hexadecimal.
    public static let publicIDLength = 32

    /// Creates a session value.
    /// - Parameters:
    ///   - tokenDigest: The SHA-256 of the session token.
    ///   - userID: The owner of the session.
    ///   - createdAt: When the session was created.
    ///   - lastSeenAt: When the session was last used.
    ///   - expiresAt: The absolute end of the session.
    ///   - publicID: Its public identifier (default: a new random one).
    ///   - origin: Where it was created from (default: unknown).
    ///   - aal: Its assurance level, 1 or 2 (default 1).
    public init(
        tokenDigest: TokenDigest, userID: Int64, createdAt: Date, lastSeenAt: Date, expiresAt: Date,
        publicID: String = Session.newPublicID(), origin: SessionOrigin = SessionOrigin(), aal: Int = 1
    ) {
        self.tokenDigest = tokenDigest
        self.userID = userID
        self.createdAt = createdAt
        self.lastSeenAt = lastSeenAt
        self.expiresAt = expiresAt
        self.publicID = publicID
        self.ip = origin.ip
        self.userAgent = origin.userAgent
        self.aal = aal
    }

    /// A new public identifier from the system's cryptographically secure generator.
    /// - Returns: 32 lowercase hexadecimal characters (128 random bits).
    public static func newPublicID() -> String {
        var generator = SystemRandomNumberGenerator()
        let words = [generator.next() as UInt64, generator.next() as UInt64]
        return words.map { word in
            let hex = String(word, radix: 16)
            return String(repeating: "0", count: 16 - hex.count) + hex
        }.joined()
    }

    /// Whether a text has the shape of a public identifier, so that a malformed one is answered
    /// without a database round trip.
    /// - Parameter text: The text a client sent.
    /// - Returns: Whether it is 32 lowercase hexadecimal characters.
    public static func isWellFormedPublicID(_ text: String) -> Bool {
        let utf8 = text.utf8
        return utf8.count == publicIDLength
            && utf8.allSatisfy {
                ($0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9"))
                    || ($0 >= UInt8(ascii: "a") && $0 <= UInt8(ascii: "f"))
            }
    }
}

/// Where a session was created from, as recorded with it and sent with account notices.
public struct SessionOrigin: Sendable, Equatable {
    /// The longest `User-Agent` kept, in characters; a longer one is cut.
    public static let userAgentMaxLength = 256

    /// The client's address, resolved through `TRUSTED_PROXIES`, or `nil` when unknown.
    public let ip: String?
    /// The client's `User-Agent` without control characters, cut to `userAgentMaxLength`
    /// characters, or `nil`.
    public let userAgent: String?
    /// The client's `Accept-Language` (RFC 9110 section 12.5.4), kept for the messages the
    /// request causes (the outbox row's language; mail chooses among its catalogs from it):
    /// at most `languagesMaxLength` characters of letters, digits and `-,;=.* `, or `nil`.
    public let languages: String?

    /// The longest `Accept-Language` kept, in characters; a longer one is cut at its last comma.
    public static let languagesMaxLength = 100

    /// Creates an origin.
    /// - Parameters:
    ///   - ip: The client's address.
    ///   - userAgent: The `User-Agent` as sent. Control characters (U+0000 to U+001F and
    ///     U+007F, which no database column should hold) are dropped; what is left empty counts
    ///     as none.
    ///   - languages: The `Accept-Language` as sent; one with any other character counts as none.
    public init(ip: String? = nil, userAgent: String? = nil, languages: String? = nil) {
        self.languages = languages.flatMap { header in
            let allowed = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-,;=.* ".utf8)
            guard !header.isEmpty, header.utf8.allSatisfy(allowed.contains) else { return nil }
            guard header.utf8.count > Self.languagesMaxLength else { return header }
            let cut = header.prefix(Self.languagesMaxLength)
            return cut.lastIndex(of: ",").map { String(cut[..<$0]) } ?? String(cut)
        }
        self.ip = ip
        self.userAgent = userAgent.flatMap { agent in
            // The common case, and every value read back from a store: nothing to drop or cut
            // (a byte of a multi-byte UTF-8 sequence is never below 0x80).
            let bytes = agent.utf8
            if !bytes.isEmpty, bytes.count <= Self.userAgentMaxLength,
                !bytes.contains(where: { $0 < 0x20 || $0 == 0x7F })
            {
                return agent
            }
            let kept = agent.unicodeScalars.filter { $0.value >= 0x20 && $0.value != 0x7F }
            let text = String(String.UnicodeScalarView(kept).prefix(Self.userAgentMaxLength))
            return text.isEmpty ? nil : text
        }
    }
}
