import Crypto
import Foundation
import HummingbirdBcrypt
import Metrics
import NIOCore
import NIOPosix

/// bcrypt on a `HashingPool`: one thread per core by default, so that hashing uses every
/// core and never more, and never blocks request handling.
public final class BcryptPasswordHasher: PasswordHasher {
    /// The bcrypt cost (log2 of the rounds).
    public let cost: Int
    private let pool: HashingPool

    /// The costs the bcrypt library accepts; it traps outside them.
    public static let validCosts = 4...31

    /// Creates the hasher with its own pool.
    /// - Parameters:
    ///   - cost: The bcrypt cost, 4 to 31.
    ///   - threads: The number of hashing threads (default: one per core).
    ///   - queueTimeout: How long a hash may wait for a thread before it is refused
    ///     (`HashingAdmission`); `nil` (the default) for as long as it takes.
    ///   - factory: Where the hashing queue's metrics go.
    public init(
        cost: Int, threads: Int = System.coreCount, queueTimeout: Duration? = nil,
        factory: any MetricsFactory = MetricsSystem.factory
    ) {
        precondition(Self.validCosts.contains(cost), "bcrypt cost must be within 4...31")
        self.cost = cost
        self.pool = HashingPool(threads: threads, queueTimeout: queueTimeout, factory: factory)
    }

    /// Hashes admitted and waiting for a thread.
    public var waiting: Int { pool.waiting }

    /// The number of hashes that can run at once.
    public var threads: Int { pool.threads }

    /// Stops the hashing pool once queued work is done.
    public func shutdown() async throws {
        try await pool.shutdown()
    }

    /// Hashes a password on the hashing pool with the `$lkb2$` scheme: bcrypt over the 44-character
    /// base64 of HMAC-SHA-256(key: a fresh 16-byte salt, message: the UTF-8 of the NFKC password),
    /// so that every character counts, however long the password (plain bcrypt reads 72 bytes).
    /// bcrypt keeps its own salt; the HMAC key is a second one, because `HummingbirdBcrypt`
    /// chooses bcrypt's.
    /// - Parameter password: A password that passed the policy.
    /// - Returns: `$lkb2$<22 characters of base64 salt>$<bcrypt hash>`; the bcrypt hash starts with
    ///   its own `$`, as in Django's `bcrypt_sha256$$2b$…`.
    public func hash(_ password: String) async throws -> String {
        let cost = UInt8(self.cost)
        var salt = [UInt8](repeating: 0, count: 16)
        var generator = SystemRandomNumberGenerator()
        for index in salt.indices { salt[index] = generator.next() }
        let input = Self.bcryptInput(password, salt: salt)
        let saltText = Data(salt).base64EncodedString().replacingOccurrences(of: "=", with: "")
        return try await pool.run {
            PasswordHashScheme.bcryptHMACSHA256Prefix + saltText + "$" + Bcrypt.hash(input, cost: cost)
        }
    }

    /// Verifies a password on the hashing pool: an `$lkb2$` hash against the NFKC password's HMAC,
    /// a plain bcrypt hash against the password as given.
    /// - Parameters:
    ///   - password: The password to check.
    ///   - hash: The stored hash; a malformed hash, or one of another scheme, never matches.
    /// - Returns: Whether they match.
    public func verify(_ password: String, against hash: String) async throws -> Bool {
        switch PasswordHashScheme(of: hash) {
        case .bcryptHMACSHA256:
            guard let (salt, inner) = Self.parts(of: hash) else { return false }
            let input = Self.bcryptInput(password, salt: salt)
            return try await pool.run { Bcrypt.verify(input, hash: inner) }
        case .bcrypt:
            // `$2y$` (PHP's name) is the same algorithm as `$2b$`, which the library verifies.
            let hash = hash.hasPrefix("$2y$") ? "$2b$" + hash.dropFirst(4) : hash
            return try await pool.run { Bcrypt.verify(password, hash: hash) }
        case .other:
            return false
        }
    }

    /// Whether a stored hash should be replaced after a successful login: a plain bcrypt hash
    /// (its password counts only to 72 bytes), or one of another cost than this hasher's.
    /// - Parameter hash: The stored hash; a hash of another kind is left alone.
    /// - Returns: `true` when it should be replaced.
    public func needsRehash(_ hash: String) -> Bool {
        switch PasswordHashScheme(of: hash) {
        case .bcryptHMACSHA256: Self.parts(of: hash).flatMap { Self.cost(of: $0.inner) }.map { $0 != cost } ?? false
        case .bcrypt: true
        case .other: false
        }
    }

    /// bcrypt's input for the `$lkb2$` scheme: the base64 of HMAC-SHA-256 of the NFKC password.
    static func bcryptInput(_ password: String, salt: [UInt8]) -> String {
        let message = Data(password.precomposedStringWithCompatibilityMapping.utf8)
        let code = HMAC<SHA256>.authenticationCode(for: message, using: SymmetricKey(data: salt))
        return Data(code).base64EncodedString()
    }

    /// The salt and the inner bcrypt hash of an `$lkb2$` hash.
    static func parts(of hash: String) -> (salt: [UInt8], inner: String)? {
        let rest = hash.dropFirst(PasswordHashScheme.bcryptHMACSHA256Prefix.count)
        guard let separator = rest.firstIndex(of: "$") else { return nil }
        let saltText = rest[..<separator]
        guard saltText.count == 22, let salt = Data(base64Encoded: saltText + "==") else { return nil }
        return (Array(salt), String(rest[rest.index(after: separator)...]))
    }

    /// The cost written in a bcrypt hash (`$2b$12$…` has cost 12).
    /// - Parameter hash: A bcrypt hash.
    /// - Returns: The cost, or `nil` when the text is not a bcrypt hash.
    public static func cost(of hash: String) -> Int? {
        let parts = hash.split(separator: "$", omittingEmptySubsequences: false)
        guard parts.count == 4, parts[0].isEmpty, ["2a", "2b", "2y"].contains(parts[1]), parts[2].count == 2 else {
            return nil
        }
        return Int(parts[2])
    }
}
