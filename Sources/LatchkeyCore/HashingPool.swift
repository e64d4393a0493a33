import Foundation
import NIOCore
import NIOPosix

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
    static let niceness: Int32 = 10

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
