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
    func constantTimeEquals(_ other: TokenDigest) -> Bool {
        guard bytes.count == other.bytes.count else { return false }
        var difference: UInt8 = 0
        for (left, right) in zip(bytes, other.bytes) {
            difference |= left ^ right
        }
        return difference == 0
    }
}
