/// The typed key for finding one user: the original service's `find_user_by(**kwargs)`,
/// without the run-time error for an unknown column.
public enum UserLookup: Sendable, Equatable {
    /// By the store's identifier.
    case id(Int64)
    /// By the normalised email address.
    case email(String)
}
