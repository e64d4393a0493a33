import Foundation
import Testing

@testable import LatchkeyCore

@Suite("TOTP (RFC 6238) and HOTP (RFC 4226)")
struct TOTPTests {
    /// The secret of both RFCs' test vectors: the ASCII of "12345678901234567890".
    static let secret = Array("12345678901234567890".utf8)

    @Test(
        "RFC 4226 Appendix D: the HOTP values of counters 0 to 9",
        arguments: zip(
            0..<10,
            [
                "755224", "287082", "359152", "969429", "338314", "254676", "287922", "162583", "399871", "520489",
            ]))
    func hotp(counter: Int, expected: String) {
        #expect(TOTP.hotp(secret: Self.secret, counter: UInt64(counter)) == expected)
    }

    @Test(
        "RFC 6238 Appendix B: the SHA-1 rows, as 8 digits, and their last 6",
        arguments: [
            (59.0, "94287082"), (1_111_111_109, "07081804"), (1_111_111_111, "14050471"),
            (1_234_567_890, "89005924"), (2_000_000_000, "69279037"), (20_000_000_000, "65353130"),
        ])
    func totp(seconds: Double, expected: String) {
        let date = Date(timeIntervalSince1970: seconds)
        #expect(TOTP.hotp(secret: Self.secret, counter: TOTP.step(at: date), digits: 8) == expected)
        #expect(TOTP.code(secret: Self.secret, at: date) == String(expected.suffix(6)))
    }

    @Test("a code is accepted one step either side of now, and each step only once")
    func verify() {
        let now = Date(timeIntervalSince1970: 1_234_567_890)
        let step = TOTP.step(at: now)
        let previous = TOTP.hotp(secret: Self.secret, counter: step - 1)
        let current = TOTP.code(secret: Self.secret, at: now)
        let tooOld = TOTP.hotp(secret: Self.secret, counter: step - 2)
        let next = TOTP.hotp(secret: Self.secret, counter: step + 1)
        #expect(TOTP.verify(previous, secret: Self.secret, at: now, after: nil) == step - 1)
        #expect(TOTP.verify(next, secret: Self.secret, at: now, after: nil) == step + 1)
        #expect(TOTP.verify(tooOld, secret: Self.secret, at: now, after: nil) == nil)
        #expect(TOTP.verify(current, secret: Self.secret, at: now, after: nil) == step)
        // Used once: the same code, or an older step's, is refused afterwards.
        #expect(TOTP.verify(current, secret: Self.secret, at: now, after: step) == nil)
        #expect(TOTP.verify(previous, secret: Self.secret, at: now, after: step) == nil)
        #expect(TOTP.verify(next, secret: Self.secret, at: now, after: step) == step + 1)
    }

    @Test(
        "anything but six ASCII digits never matches",
        arguments: ["", "12345", "1234567", "12345a", "１２３４５６", " 123456"])
    func malformed(code: String) {
        #expect(TOTP.verify(code, secret: Self.secret, at: Date(), after: nil) == nil)
    }
}
