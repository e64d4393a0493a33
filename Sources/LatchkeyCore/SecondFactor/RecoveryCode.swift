import Foundation

/// Recovery codes: single-use look-up secrets (NIST SP 800-63B section 5.1.2) that stand in for
/// a one-time code when the authenticator is lost. Each is 24 characters from a 32-character
/// alphabet without look-alikes (no 0, 1, I or O): 120 random bits, over the 112 bits at which
/// SP 800-63B section 5.1.2.2 lets a keyed hash replace a salted password hash. Shown in six groups
/// of four joined by `-`; accepted with or without separators and in either case.
public enum RecoveryCode {
    /// The alphabet: digits 2 to 9 and the letters but I and O.
    static let alphabet = Array("23456789ABCDEFGHJKLMNPQRSTUVWXYZ".utf8)
    /// The characters in a code, separators aside.
    public static let length = 24
    /// The codes in a set.
    public static let setSize = 10

    /// A new code from the system's secure generator, as shown: `XXXX-XXXX-XXXX-XXXX-XXXX-XXXX`.
    /// - Returns: The code.
    public static func generate() -> String {
        var generator = SystemRandomNumberGenerator()
        // 32 letters: each character takes 5 bits of one random byte, with no bias.
        let characters = (0..<length).map { _ in alphabet[Int((generator.next() as UInt8) & 0x1F)] }
        return stride(from: 0, to: length, by: 4).map {
            String(decoding: characters[$0..<$0 + 4], as: UTF8.self)
        }.joined(separator: "-")
    }

    /// The canonical form of a code as typed: separators (`-` and spaces) removed, letters upper
    /// case.
    /// - Parameter typed: The code as the client sent it.
    /// - Returns: The 24 characters, or `nil` when it is not a recovery code's shape.
    public static func canonical(_ typed: String) -> String? {
        var kept: [UInt8] = []
        for byte in typed.utf8 {
            if byte == UInt8(ascii: "-") || byte == UInt8(ascii: " ") { continue }
            let upper = byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z") ? byte - 32 : byte
            guard alphabet.contains(upper), kept.count < length else { return nil }
            kept.append(upper)
        }
        return kept.count == length ? String(decoding: kept, as: UTF8.self) : nil
    }
}
