import Foundation

/// A second-factor code as a person types it, read once at the edge of every rule that takes one:
/// a one-time code (six ASCII digits, RFC 6238) or a recovery code (`RecoveryCode`).
///
/// People copy codes as their app shows them (`123 456`), with a space or a newline around them,
/// a no-break space from a web page, or fullwidth digits from an input method. So the typed value
/// is NFKC-normalised (fullwidth digits become ASCII) and loses every Unicode white space
/// character (U+00A0 and U+202F included) and the dashes U+002D and U+2010 to U+2015 before any
/// check; what is left is one of the two shapes, nothing, or a clear refusal that is decided before
/// any password is checked and never counted as a wrong code.
public enum SecondFactorCode: Sendable, Equatable {
    /// Six ASCII digits, for the TOTP check.
    case oneTime(String)
    /// A recovery code in its canonical form: 24 characters of its alphabet, upper case.
    case recovery(String)

    /// The refusal for a value that is neither shape.
    public static let shapeProblem = "code must be 6 digits or a recovery code"

    /// Reads a typed code.
    /// - Parameter typed: The code as the client sent it.
    /// - Returns: The code, or `nil` when nothing is left once white space and dashes are gone (no
    ///   code was given).
    /// - Throws: `AuthError.invalidInput` (`code must be 6 digits or a recovery code`) when what is
    ///   left is neither six ASCII digits nor a recovery code's 24 characters (either case).
    public init?(typed: String) throws {
        let kept = typed.precomposedStringWithCompatibilityMapping.unicodeScalars.filter {
            !$0.properties.isWhitespace && !Self.isDash($0)
        }
        guard !kept.isEmpty else { return nil }
        let cleaned = String(String.UnicodeScalarView(kept))
        if cleaned.utf8.count == TOTP.digits, cleaned.utf8.allSatisfy({ (0x30...0x39).contains($0) }) {
            self = .oneTime(cleaned)
        } else if let canonical = RecoveryCode.canonical(cleaned) {
            self = .recovery(canonical)
        } else {
            throw AuthError.invalidInput(Self.shapeProblem)
        }
    }

    /// Reads an optional typed code: `nil` when it is missing or holds nothing.
    /// - Parameter typed: The code as sent, or `nil`.
    /// - Returns: The code, or `nil`.
    /// - Throws: As `init(typed:)`.
    public static func read(_ typed: String?) throws -> SecondFactorCode? {
        guard let typed else { return nil }
        return try SecondFactorCode(typed: typed)
    }

    /// U+002D HYPHEN-MINUS and U+2010 HYPHEN to U+2015 HORIZONTAL BAR.
    static func isDash(_ scalar: Unicode.Scalar) -> Bool {
        scalar.value == 0x2D || (0x2010...0x2015).contains(scalar.value)
    }
}
