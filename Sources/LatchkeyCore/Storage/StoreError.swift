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
