/// The longest password bcrypt reads, in bytes; it silently ignores the rest. Plain bcrypt
/// hashes (made before the `$lkb2$` scheme, or imported) verify only passwords that fit.
public let bcryptMaximumPasswordBytes = 72

/// The longest password accepted, in Unicode scalars after NFKC (OWASP ASVS 5.0 6.2.9 asks that
/// at least 64 characters be allowed).
public let maximumPasswordLength = 256

/// Validation of the inputs `Auth` accepts.
enum Validation {
    /// An email's canonical form (`EmailAddress`).
    /// - Parameter raw: The email as the client sent it.
    /// - Returns: The canonical address.
    /// - Throws: `AuthError.invalidEmail` with the reason.
    static func normalizedEmail(_ raw: String) throws(AuthError) -> String {
        try EmailAddress(raw).value
    }

    /// The normalisation of addresses before canonical forms: trimmed and lower-cased. Accounts
    /// whose stored address could not take its canonical form (listed in the store's email
    /// conflicts) are still found by it.
    /// - Parameter raw: The email as the client sent it.
    /// - Returns: The trimmed, lower-cased text.
    static func legacyNormalizedEmail(_ raw: String) -> String {
        EmailAddress.trimmingWhiteSpace(raw).lowercased()
    }

    /// A password as it is checked, hashed and verified: NFKC (NIST SP 800-63B 3.1.1.2 asks
    /// verifiers to normalise; see docs/decisions), so that the same password typed on another
    /// keyboard or system is the same password.
    /// - Parameter raw: The password as sent.
    /// - Returns: Its NFKC form.
    static func normalizedPassword(_ raw: String) -> String {
        raw.precomposedStringWithCompatibilityMapping
    }

    /// What makes a normalised password unusable whatever the policy, or `nil`: empty, over
    /// `maximumPasswordLength` scalars, or holding a control character (Cc: NUL, TAB, C0 and C1
    /// controls). Format characters (Cf) are allowed: emoji sequences use them.
    /// - Parameters:
    ///   - password: The password after NFKC.
    ///   - field: The field name to use in the reason.
    /// - Returns: The reason, or `nil` when the password can be used.
    static func shapeProblem(_ password: String, field: String = "password") -> String? {
        if password.isEmpty {
            return "\(field) must not be empty"
        }
        if password.unicodeScalars.count > maximumPasswordLength {
            return "\(field) must be at most \(maximumPasswordLength) characters"
        }
        if let control = password.unicodeScalars.first(where: { $0.properties.generalCategory == .control }) {
            return "\(field) must not contain control characters (\(EmailAddress.name(control)))"
        }
        return nil
    }

    /// Whether plain bcrypt hashes every byte of a password as sent: not empty, no NUL, at most
    /// 72 bytes. A plain bcrypt hash verifies nothing else (it would compare only a prefix).
    /// - Parameter password: The password as sent.
    /// - Returns: Whether plain bcrypt would read all of it.
    static func fitsPlainBcrypt(_ password: String) -> Bool {
        !password.isEmpty && !password.utf8.contains(0) && password.utf8.count <= bcryptMaximumPasswordBytes
    }

    /// Normalises a new password and checks it against the policy.
    /// - Parameters:
    ///   - password: The password as the client sent it.
    ///   - minimumLength: The policy's minimum length, in Unicode scalars after NFKC.
    ///   - field: The field name to use in messages.
    /// - Returns: The password after NFKC: what is hashed.
    /// - Throws: `AuthError.invalidPassword` with the reason.
    static func checkPassword(_ password: String, minimumLength: Int, field: String = "password")
        throws(AuthError) -> String
    {
        let normalized = normalizedPassword(password)
        if let problem = shapeProblem(normalized, field: field) {
            throw .invalidPassword(problem)
        }
        if normalized.unicodeScalars.count < minimumLength {
            throw .invalidPassword("\(field) must be at least \(minimumLength) characters")
        }
        if CommonPasswords.contains(normalized) {
            throw .invalidPassword("\(field) is one of the most common passwords; choose another")
        }
        return normalized
    }
}
