import ExtrasBase64
import Foundation

extension TOTP {
    /// The length of a new secret, in bytes (RFC 4226 section 4 recommends 160 bits).
    public static let secretByteCount = 20

    /// A new secret from the system's secure generator.
    /// - Returns: `secretByteCount` random bytes.
    public static func newSecret() -> Data {
        var generator = SystemRandomNumberGenerator()
        return Data((0..<secretByteCount).map { _ in generator.next() as UInt8 })
    }

    /// A secret as authenticator apps take it: base32 (RFC 4648 section 6) without padding.
    /// - Parameter secret: The secret's bytes.
    /// - Returns: The base32 text (32 characters for 20 bytes).
    public static func base32(_ secret: Data) -> String {
        String(base32Encoding: secret, options: .omitPaddingCharacter)
    }

    /// The key URI an authenticator app scans: `otpauth://totp/<issuer>:<account>?secret=…&
    /// issuer=…&algorithm=SHA1&digits=6&period=30`, every parameter written out (some apps do
    /// not assume the defaults). The label's parts and the issuer parameter are percent-encoded
    /// UTF-8 (RFC 3986 section 2.1), all but the unreserved characters.
    /// - Parameters:
    ///   - issuer: The service's name (`MFA_ISSUER`).
    ///   - account: The account's address.
    ///   - secret: The secret's bytes.
    /// - Returns: The URI.
    public static func keyURI(issuer: String, account: String, secret: Data) -> String {
        let label = percentEncoded(issuer) + ":" + percentEncoded(account)
        return "otpauth://totp/\(label)?secret=\(base32(secret))&issuer=\(percentEncoded(issuer))"
            + "&algorithm=SHA1&digits=\(digits)&period=\(period)"
    }

    /// Percent-encodes every byte of the UTF-8 text but RFC 3986's unreserved characters.
    static func percentEncoded(_ text: String) -> String {
        var result = ""
        for byte in text.utf8 {
            let unreserved =
                (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z"))
                || (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z"))
                || (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9"))
                || byte == UInt8(ascii: "-") || byte == UInt8(ascii: ".") || byte == UInt8(ascii: "_")
                || byte == UInt8(ascii: "~")
            if unreserved {
                result.unicodeScalars.append(Unicode.Scalar(byte))
            } else {
                let hex = String(byte, radix: 16, uppercase: true)
                result += "%" + (hex.count == 1 ? "0" + hex : hex)
            }
        }
        return result
    }
}
