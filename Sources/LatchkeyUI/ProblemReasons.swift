import LatchkeyCore

/// Core's reasons for refusing an address, a password or an input, as catalog keys: Core words
/// them for the API, in English, sometimes with a value (a limit, a character); the pages say the
/// same in the person's language. A reason this table does not know gets the general sentence of
/// its kind (`problem.email.invalid`), never Core's English.
enum ProblemReasons {
    /// A reason's shape: the text before a value, the text after it, the key, and the name the
    /// value takes in the sentence (`nil` when the reason has no value).
    private typealias Shape = (prefix: String, suffix: String, key: String, argument: String?)

    /// `AuthError.invalidEmail`'s reasons (`EmailAddress`).
    private static let emailShapes: [Shape] = [
        ("email must not be empty", "", "problem.email.empty", nil),
        ("email must not contain invisible or control characters (", ")", "problem.email.invisible", "character"),
        ("email must not contain white space", "", "problem.email.space", nil),
        ("email must contain exactly one @", "", "problem.email.at", nil),
        ("email must be at most ", " bytes in UTF-8", "problem.email.long", "limit"),
        ("email must have a local part before the @", "", "problem.email.local-missing", nil),
        ("the part before the @ must be at most ", " bytes in UTF-8", "problem.email.local-long", "limit"),
        (
            "the part before the @ must not start or end with a dot or hold two in a row", "",
            "problem.email.local-dots", nil
        ),
        (
            "the part before the @ must not contain ", " (quoted strings and comments are not accepted)",
            "problem.email.local-character", "character"
        ),
        ("email must have a domain after the @", "", "problem.email.domain-missing", nil),
        ("the domain must be a name, not an address literal", "", "problem.email.domain-literal", nil),
        ("the domain must not end with a dot", "", "problem.email.domain-dot", nil),
        ("the domain is not a valid internationalised domain name", "", "problem.email.domain-idna", nil),
        ("the domain must have at least two labels, as in example.com", "", "problem.email.domain-labels", nil),
        ("the domain's last label must not be all digits", "", "problem.email.domain-numeric", nil),
        ("each part of the domain must be 1 to 63 characters", "", "problem.email.domain-label-length", nil),
        ("the domain may hold only letters, digits, hyphens and dots", "", "problem.email.domain-characters", nil),
        ("a part of the domain must not start or end with a hyphen", "", "problem.email.domain-hyphen", nil),
        (
            "the domain holds a label with -- that is not a valid internationalised label", "",
            "problem.email.domain-double-hyphen", nil
        ),
    ]

    /// `AuthError.invalidPassword`'s reasons (`Validation`), after the field's name.
    private static let passwordShapes: [Shape] = [
        (" must not be empty", "", "problem.password.empty", nil),
        (" must be at most ", " characters", "problem.password.long", "limit"),
        (" must not contain control characters (", ")", "problem.password.control", "character"),
        (" must be at least ", " characters", "problem.password.short", "limit"),
        (" is one of the most common passwords; choose another", "", "problem.password.common", nil),
    ]

    /// The key and values for an address's reason.
    static func email(_ reason: String) -> (String, [String: String]) {
        match(reason, emailShapes) ?? ("problem.email.invalid", [:])
    }

    /// The key and values for a password's reason; the field's name (`password`, `new_password`)
    /// comes first in Core's reason and is not shown.
    static func password(_ reason: String) -> (String, [String: String]) {
        for field in ["new_password", "password"] where reason.hasPrefix(field) {
            if let found = match(String(reason.dropFirst(field.count)), passwordShapes) { return found }
        }
        return ("problem.password.invalid", [:])
    }

    /// The key for `AuthError.invalidInput`'s reason.
    static func input(_ reason: String) -> String {
        switch reason {
        case SecondFactorCode.shapeProblem: "problem.code-shape"
        case Auth.passwordRequiredForClaimedAddress: "problem.password-for-claimed"
        case "new_email is already this account's address": "problem.same-address"
        case "text must not contain a NUL character": "problem.nul"
        default: "problem.request"
        }
    }

    private static func match(_ reason: String, _ shapes: [Shape]) -> (String, [String: String])? {
        for shape in shapes {
            guard let argument = shape.argument else {
                if reason == shape.prefix { return (shape.key, [:]) }
                continue
            }
            guard reason.hasPrefix(shape.prefix), reason.hasSuffix(shape.suffix),
                reason.count > shape.prefix.count + shape.suffix.count
            else { continue }
            let value = reason.dropFirst(shape.prefix.count).dropLast(shape.suffix.count)
            return (shape.key, [argument: String(value)])
        }
        return nil
    }
}
