import Crypto
import Foundation

/// Time-based one-time passwords (RFC 6238) over HOTP (RFC 4226), with the parameters every
/// authenticator app supports: HMAC-SHA-1, 6 digits, 30-second steps. The secret is raw bytes
/// (RFC 4226 section 4 asks for at least 128 bits; 160 are recommended).
public enum TOTP {
    /// The digits of a code.
    public static let digits = 6
    /// The length of a time step, in seconds.
    public static let period = 30
    /// The steps accepted either side of the current one, for clock drift (RFC 6238 section 5.2).
    public static let window = 1

    /// The HOTP value of a counter (RFC 4226 section 5.3: HMAC-SHA-1, dynamic truncation).
    /// - Parameters:
    ///   - secret: The shared secret's bytes.
    ///   - counter: The moving factor.
    ///   - digits: The code's length (default 6).
    /// - Returns: The code, `digits` decimal digits with leading zeros kept.
    public static func hotp(secret: some DataProtocol, counter: UInt64, digits: Int = digits) -> String {
        var message = counter.bigEndian
        let code = withUnsafeBytes(of: &message) { counterBytes in
            HMAC<Insecure.SHA1>.authenticationCode(
                for: Data(counterBytes), using: SymmetricKey(data: Data(secret)))
        }
        let bytes = Array(code)
        // Dynamic truncation: the low 4 bits of the last byte pick 4 bytes, high bit cleared.
        let offset = Int(bytes[bytes.count - 1] & 0x0F)
        let binary =
            (UInt32(bytes[offset] & 0x7F) << 24) | (UInt32(bytes[offset + 1]) << 16)
            | (UInt32(bytes[offset + 2]) << 8) | UInt32(bytes[offset + 3])
        var modulus: UInt32 = 1
        for _ in 0..<digits { modulus *= 10 }
        let value = String(binary % modulus)
        return String(repeating: "0", count: max(0, digits - value.count)) + value
    }

    /// The time step of a moment (RFC 6238 section 4.2: T = floor((unix time - T0) / X), T0 = 0).
    /// - Parameter date: The moment.
    /// - Returns: The step; 0 before 1970.
    public static func step(at date: Date) -> UInt64 {
        let seconds = date.timeIntervalSince1970
        guard seconds > 0 else { return 0 }
        return UInt64(seconds / Double(period))
    }

    /// The code of a moment.
    /// - Parameters:
    ///   - secret: The shared secret's bytes.
    ///   - date: The moment.
    /// - Returns: The 6-digit code of the step `date` falls in.
    public static func code(secret: some DataProtocol, at date: Date) -> String {
        hotp(secret: secret, counter: step(at: date))
    }

    /// Checks a code against the steps around a moment, accepting each step once: a code whose
    /// step is at or before `lastAccepted` is refused, so that a code seen over a shoulder cannot
    /// be used again within its window (RFC 6238 section 5.2).
    /// - Parameters:
    ///   - code: The code as typed (6 ASCII digits; anything else never matches).
    ///   - secret: The shared secret's bytes.
    ///   - date: The current time.
    ///   - lastAccepted: The step of the last accepted code, if any.
    /// - Returns: The step the code matched, to store as the new `lastAccepted`; `nil` when it
    ///   matches no acceptable step.
    public static func verify(
        _ code: String, secret: some DataProtocol, at date: Date, after lastAccepted: UInt64?
    ) -> UInt64? {
        guard code.utf8.count == digits, code.utf8.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") })
        else { return nil }
        let now = step(at: date)
        let first = now >= UInt64(window) ? now - UInt64(window) : 0
        var matched: UInt64?
        // Every candidate is computed and compared in full, whichever matches.
        for candidate in first...(now + UInt64(window)) {
            let expected = hotp(secret: secret, counter: candidate)
            if constantTimeEquals(expected, code), lastAccepted.map({ candidate > $0 }) ?? true {
                matched = candidate
            }
        }
        return matched
    }

    /// Compares two strings of equal length without stopping at the first difference.
    static func constantTimeEquals(_ left: String, _ right: String) -> Bool {
        let (a, b) = (Array(left.utf8), Array(right.utf8))
        guard a.count == b.count else { return false }
        var difference: UInt8 = 0
        for index in a.indices { difference |= a[index] ^ b[index] }
        return difference == 0
    }
}
