/// The scheme a stored password hash says it was made with, by its prefix.
public enum PasswordHashScheme: Sendable, Equatable {
    /// `$lkb2$<salt>$<bcrypt>`: bcrypt over the base64 of HMAC-SHA-256(key: a 16-byte salt,
    /// message: the UTF-8 of the NFKC password), so that every character counts however long
    /// the password is (`BcryptPasswordHasher`).
    case bcryptHMACSHA256
    /// `$2a$`, `$2b$` or `$2y$`: plain bcrypt over the password as sent; it reads 72 bytes at
    /// most. Hashes made before `$lkb2$`, and those imported from the original service.
    case bcrypt
    /// Any other text (a test hasher's hashes).
    case other

    /// The prefix of `bcryptHMACSHA256` hashes.
    public static let bcryptHMACSHA256Prefix = "$lkb2$"

    /// The scheme of a stored hash.
    /// - Parameter hash: The stored hash.
    public init(of hash: String) {
        if hash.hasPrefix(Self.bcryptHMACSHA256Prefix) {
            self = .bcryptHMACSHA256
        } else if hash.hasPrefix("$2a$") || hash.hasPrefix("$2b$") || hash.hasPrefix("$2y$") {
            self = .bcrypt
        } else {
            self = .other
        }
    }
}
