/// The longest password bcrypt reads, in bytes; it silently ignores the rest.
public let bcryptMaximumPasswordBytes = 72

/// The longest email address accepted, in characters (RFC 5321's path limit less the brackets).
let maximumEmailLength = 254

/// Validation of the inputs `Auth` accepts.
enum Validation {
    /// Trims and lower-cases an email, then checks its shape.
    /// - Parameter raw: The email as the client sent it.
    /// - Returns: The normalised email.
    /// - Throws: `AuthError.invalidEmail` with the reason.
    static func normalizedEmail(_ raw: String) throws(AuthError) -> String {
        let email = raw.trimmingCharacters(in: .whitespacesAndNewlines).lowercased()
        if email.isEmpty {
            throw .invalidEmail("email must not be empty")
        }
        // Unicode scalars, not grapheme clusters: combining marks must count toward the limit.
        if email.unicodeScalars.count > maximumEmailLength {
            throw .invalidEmail("email must be at most \(maximumEmailLength) characters")
        }
        if email.unicodeScalars.contains(where: {
            $0.properties.isWhitespace || $0.properties.generalCategory == .control
        }) {
            throw .invalidEmail("email must not contain whitespace or control characters")
        }
        let parts = email.split(separator: "@", omittingEmptySubsequences: false)
        guard parts.count == 2 else {
            throw .invalidEmail("email must contain exactly one @")
        }
        if parts[0].isEmpty {
            throw .invalidEmail("email must have a local part before the @")
        }
        if parts[1].isEmpty {
            throw .invalidEmail("email must have a domain after the @")
        }
        return email
    }

    /// Tells whether bcrypt hashes every byte of a password: it is not empty, holds no NUL
    /// and fits in 72 bytes. bcrypt silently ignores what lies beyond.
    /// - Parameter password: The password.
    /// - Returns: Whether bcrypt would hash all of it.
    static func isHashable(_ password: String) -> Bool {
        !password.isEmpty && !password.utf8.contains(0) && password.utf8.count <= bcryptMaximumPasswordBytes
    }

    /// Checks a password against the policy and against what bcrypt can hash faithfully.
    /// - Parameters:
    ///   - password: The password as the client sent it.
    ///   - minimumLength: The policy's minimum length in characters.
    ///   - field: The field name to use in messages.
    /// - Throws: `AuthError.invalidPassword` with the reason.
    static func checkPassword(_ password: String, minimumLength: Int, field: String = "password")
        throws(AuthError)
    {
        if password.isEmpty {
            throw .invalidPassword("\(field) must not be empty")
        }
        // The two rules below are `isHashable`, spelled out for their messages.
        if password.utf8.contains(0) {
            throw .invalidPassword("\(field) must not contain a NUL character: bcrypt would ignore everything after it")
        }
        if password.utf8.count > bcryptMaximumPasswordBytes {
            throw .invalidPassword(
                "\(field) must be at most \(bcryptMaximumPasswordBytes) bytes in UTF-8: bcrypt would ignore the rest"
            )
        }
        if password.count < minimumLength {
            throw .invalidPassword("\(field) must be at least \(minimumLength) characters")
        }
        if CommonPasswords.contains(password) {
            throw .invalidPassword("\(field) is one of the most common passwords; choose another")
        }
    }
}
