import Foundation
import HummingbirdBcrypt
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
    public init(cost: Int, threads: Int = System.coreCount) {
        precondition(Self.validCosts.contains(cost), "bcrypt cost must be within 4...31")
        self.cost = cost
        self.pool = HashingPool(threads: threads)
    }

    /// The number of hashes that can run at once.
    public var threads: Int { pool.threads }

    /// Stops the hashing pool once queued work is done.
    public func shutdown() async throws {
        try await pool.shutdown()
    }

    /// Hashes a password on the hashing pool.
    /// - Parameter password: A password that passed the policy.
    /// - Returns: A `$2b$` hash.
    public func hash(_ password: String) async throws -> String {
        let cost = UInt8(self.cost)
        return try await pool.run { Bcrypt.hash(password, cost: cost) }
    }

    /// Verifies a password on the hashing pool.
    /// - Parameters:
    ///   - password: The password to check.
    ///   - hash: The stored hash; a malformed hash never matches.
    /// - Returns: Whether they match.
    public func verify(_ password: String, against hash: String) async throws -> Bool {
        try await pool.run { Bcrypt.verify(password, hash: hash) }
    }

    /// Whether a `$2a$`/`$2b$`/`$2y$` hash has a cost other than this hasher's.
    /// - Parameter hash: The stored hash; a hash of another kind is left alone.
    /// - Returns: `true` when the cost differs.
    public func needsRehash(_ hash: String) -> Bool {
        Self.cost(of: hash).map { $0 != cost } ?? false
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
