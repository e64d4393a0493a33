import Foundation
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

    /// Whether a stored hash was made with other parameters than this hasher's (a bcrypt cost
    /// other than the configured one), so that a successful login should store a new hash.
    /// - Parameter hash: The stored hash.
    /// - Returns: `true` when it should be replaced.
    func needsRehash(_ hash: String) -> Bool
}

/// A dedicated pool of threads for CPU-heavy work (bcrypt), so that it never runs on an
/// event loop or a task executor thread. At most `threads` jobs run at once; waiting jobs
/// start first come, first served. While requests that do not hash are being served, a
/// running job gives way to them in slices (`HashingSlices`).
public final class HashingPool: Sendable {
    /// The number of jobs that can run at once.
    public let threads: Int
    private let pool: NIOThreadPool

    /// Starts the pool.
    /// - Parameter threads: The number of threads (default: one per core).
    public init(threads: Int = System.coreCount) {
        self.threads = max(1, threads)
        self.pool = NIOThreadPool(numberOfThreads: self.threads)
        self.pool.start()
    }

    /// Runs a job on one of the pool's threads and waits for its result.
    /// - Parameter work: The job.
    /// - Returns: The job's result.
    /// - Throws: When the pool has been shut down.
    public func run<T: Sendable>(_ work: @escaping @Sendable () -> T) async throws -> T {
        RequestLoad.markHashing()
        return try await pool.runIfActive {
            Self.yieldToRequests()
            let slices = HashingSlices.arm()
            defer { HashingSlices.disarm(slices) }
            return work()
        }
    }

    /// The scheduler priority (nice value) of the pool's threads: above the request threads'
    /// 0, so that while every core hashes, cheap requests still get the CPU when they need it.
    public static let niceness: Int32 = 10

    /// Lowers the calling pool thread's priority to `niceness` (a thread may always lower its
    /// own; a failure leaves it as it was). It costs one system call per job.
    private static func yieldToRequests() {
        #if os(Linux)
            // On Linux the nice value belongs to each thread, and 0 names the calling one.
            _ = setpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0, niceness)
        #endif
    }

    /// Stops the pool once queued jobs are done.
    public func shutdown() async throws {
        try await pool.shutdownGracefully()
    }
}

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
