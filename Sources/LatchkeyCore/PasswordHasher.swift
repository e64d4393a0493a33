import HummingbirdBcrypt
import NIOCore
import NIOPosix

/// Hashes and verifies passwords. Implementations must not block the caller's executor.
public protocol PasswordHasher: Sendable {
    /// Hashes a password with a fresh salt.
    /// - Parameter password: A password that passed the policy.
    /// - Returns: The encoded hash.
    func hash(_ password: String) async throws -> String

    /// Checks a password against a stored hash.
    /// - Parameters:
    ///   - password: The password to check.
    ///   - hash: The stored hash.
    /// - Returns: Whether they match.
    func verify(_ password: String, against hash: String) async throws -> Bool
}

/// bcrypt on a dedicated thread pool with one thread per core, so that hashing never runs
/// on an event loop or a task executor thread, at most one hash per core runs at a time, and
/// waiting work is served first come, first served.
public final class BcryptPasswordHasher: PasswordHasher {
    /// The bcrypt cost (log2 of the rounds).
    public let cost: Int
    private let pool: NIOThreadPool

    /// The costs the bcrypt library accepts; it traps outside them.
    public static let validCosts = 4...31

    /// Starts the hasher's thread pool.
    /// - Parameters:
    ///   - cost: The bcrypt cost, 4 to 31.
    ///   - threads: The number of hashing threads (default: one per core).
    public init(cost: Int, threads: Int = System.coreCount) {
        precondition(Self.validCosts.contains(cost), "bcrypt cost must be within 4...31")
        self.cost = cost
        self.pool = NIOThreadPool(numberOfThreads: max(1, threads))
        self.pool.start()
    }

    /// Stops the thread pool once queued work is done.
    public func shutdown() async throws {
        try await pool.shutdownGracefully()
    }

    /// Hashes a password on the hashing pool.
    /// - Parameter password: A password that passed the policy.
    /// - Returns: A `$2b$` hash.
    public func hash(_ password: String) async throws -> String {
        let cost = UInt8(self.cost)
        return try await pool.runIfActive { Bcrypt.hash(password, cost: cost) }
    }

    /// Verifies a password on the hashing pool.
    /// - Parameters:
    ///   - password: The password to check.
    ///   - hash: The stored hash; a malformed hash never matches.
    /// - Returns: Whether they match.
    public func verify(_ password: String, against hash: String) async throws -> Bool {
        try await pool.runIfActive { Bcrypt.verify(password, hash: hash) }
    }
}
