/// What a store can report, whatever database sits behind it. Each store translates
/// its driver's errors into these, so the layers above never see a driver type.
public enum StoreError: Error, Sendable, Equatable, CustomStringConvertible {
    /// A user with that (normalised) email already exists: the unique index said no.
    case duplicateEmail
    /// The referenced row does not exist.
    case notFound
    /// The database refused a value (for example a NUL byte in a text column).
    case invalidValue(String)
    /// The database could not be reached or could not complete the operation.
    case unavailable(String)

    /// A one-line reason for logs and start-up errors.
    public var description: String {
        switch self {
        case .duplicateEmail: "email already registered"
        case .notFound: "no such row"
        case .invalidValue(let reason): "invalid value: \(reason)"
        case .unavailable(let reason): reason
        }
    }

    /// Refuses text that a store cannot keep: PostgreSQL rejects NUL in text columns, so every
    /// store refuses it the same way, before the database sees it.
    /// - Parameter values: The text values about to be written.
    /// - Throws: `StoreError.invalidValue` when one contains a NUL character.
    public static func checkText(_ values: String...) throws(StoreError) {
        if values.contains(where: { $0.utf8.contains(0) }) {
            throw .invalidValue("text must not contain a NUL character")
        }
    }
}

/// The outcomes of `Auth`'s rules that a caller must handle. The HTTP layer maps each
/// case to a status in one place.
public enum AuthError: Error, Sendable, Equatable {
    /// The email is malformed; the text says how.
    case invalidEmail(String)
    /// The password breaks the policy; the text says how.
    case invalidPassword(String)
    /// Registration of an email that already has an account.
    case emailAlreadyRegistered
    /// Unknown email or wrong password (deliberately the same case).
    case invalidCredentials
    /// The session token is missing, malformed, unknown or expired.
    case invalidSession
    /// A reset token was asked for an email that has no account.
    case emailNotRegistered
    /// The reset token is unknown, used, expired or issued for another email.
    case invalidResetToken
    /// A field the caller sent is unusable by the store; the text says which.
    case invalidInput(String)
    /// Too many failures or requests for this email: wait this many whole seconds.
    case throttled(retryAfter: Int)
    /// The database is unreachable or failed; the request can be retried.
    case storageUnavailable
}
