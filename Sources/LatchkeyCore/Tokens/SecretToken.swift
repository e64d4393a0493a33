import Foundation

/// Makes the random secrets handed to clients: session cookies and reset tokens.
public enum SecretToken {
    /// The number of random bytes in a token.
    public static let byteCount = 32
    /// The length of a token's text: 32 bytes in unpadded base64url.
    static let textLength = 43

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
