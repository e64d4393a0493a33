import Crypto
import Foundation

/// The SHA-256 of a secret token: what the database keeps instead of the token itself,
/// so that a copy of the database cannot be replayed as cookies or reset links.
public struct TokenDigest: Sendable, Hashable {
    /// The 32 bytes of the digest.
    public let bytes: Data

    /// Wraps digest bytes read back from a store.
    /// - Parameter bytes: The 32 bytes of a SHA-256 digest.
    public init(bytes: Data) {
        self.bytes = bytes
    }

    /// Computes the digest of a token as the client presented it.
    /// - Parameter token: The token text (base64url).
    public init(of token: String) {
        var token = token
        self.bytes = token.withUTF8 { Data(SHA256.hash(data: UnsafeRawBufferPointer($0))) }
    }

    /// Compares two digests in time that does not depend on where they differ.
    /// - Parameter other: The digest to compare with.
    /// - Returns: Whether the digests are equal.
    public func constantTimeEquals(_ other: TokenDigest) -> Bool {
        guard bytes.count == other.bytes.count else { return false }
        var difference: UInt8 = 0
        for (left, right) in zip(bytes, other.bytes) {
            difference |= left ^ right
        }
        return difference == 0
    }
}

/// Makes the random secrets handed to clients: session cookies and reset tokens.
public enum SecretToken {
    /// The number of random bytes in a token.
    public static let byteCount = 32
    /// The length of a token's text: 32 bytes in unpadded base64url.
    public static let textLength = 43

    /// Generates a new token from the system's cryptographically secure generator.
    /// - Parameter byteCount: The number of random bytes (default 32: a 43-character token).
    /// - Returns: The random bytes, base64url-encoded without padding.
    public static func generate(byteCount: Int = byteCount) -> String {
        var generator = SystemRandomNumberGenerator()
        var bytes = Data(capacity: byteCount + 8)
        // Eight bytes per call to the system's generator, not one.
        while bytes.count < byteCount {
            withUnsafeBytes(of: generator.next() as UInt64) { bytes.append(contentsOf: $0) }
        }
        return base64URLEncoded(bytes.prefix(byteCount))
    }

    /// Tells whether a string has the shape of a token, so that malformed cookies
    /// are refused without a database round trip.
    /// - Parameter text: The text a client sent.
    /// - Returns: Whether it is 43 base64url characters.
    public static func isWellFormed(_ text: String) -> Bool {
        let utf8 = text.utf8
        guard utf8.count == textLength else { return false }
        return utf8.allSatisfy { byte in
            (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z"))
                || (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z"))
                || (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9"))
                || byte == UInt8(ascii: "-") || byte == UInt8(ascii: "_")
        }
    }

    static func base64URLEncoded(_ data: Data) -> String {
        var text = data.base64EncodedString()
        text = text.replacingOccurrences(of: "+", with: "-")
        text = text.replacingOccurrences(of: "/", with: "_")
        while text.hasSuffix("=") { text.removeLast() }
        return text
    }
}
