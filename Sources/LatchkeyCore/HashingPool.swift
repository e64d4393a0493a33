import Foundation
import Metrics
import NIOCore
import NIOPosix
import Synchronization

/// A dedicated pool of threads for CPU-heavy work (bcrypt), so that it never runs on an
/// event loop or a task executor thread. At most `threads` jobs run at once; waiting jobs
/// start first come, first served, if they can start within the queue timeout
/// (`HashingAdmission`). While requests that do not hash are being served, a running job gives
/// way to them in slices (`HashingSlices`).
public final class HashingPool: Sendable {
    /// The number of jobs that can run at once.
    public let threads: Int
    private let pool: NIOThreadPool
    private let admission: HashingAdmission

    /// Starts the pool.
    /// - Parameters:
    ///   - threads: The number of threads (default: one per core).
    ///   - queueTimeout: How long a job may wait for a thread (`HASH_QUEUE_TIMEOUT`); `nil`
    ///     (the default) for as long as it takes.
    ///   - factory: Where the queue's metrics go (`HashingAdmission`).
    public init(
        threads: Int = System.coreCount, queueTimeout: Duration? = nil,
        factory: any MetricsFactory = MetricsSystem.factory
    ) {
        self.threads = max(1, threads)
        self.pool = NIOThreadPool(numberOfThreads: self.threads)
        self.admission = HashingAdmission(threads: self.threads, queueTimeout: queueTimeout, factory: factory)
        self.pool.start()
    }

    /// Runs a job on one of the pool's threads and waits for its result. The request handing it
    /// over counts as one that hashes for `RequestLoad`, whether or not the job is admitted.
    /// - Parameter work: The job.
    /// - Returns: The job's result.
    /// - Throws: `AuthError.overloaded` when the job would wait longer than the queue timeout
    ///   (refused before any work) or waited longer than that (dropped before it ran);
    ///   `CancellationError` when the request was cancelled (its client went) before the job
    ///   started, which is then never run; `NIOThreadPoolError.ThreadPoolInactive` when the
    ///   pool has been shut down.
    public func run<T: Sendable>(_ work: @escaping @Sendable () -> T) async throws -> T {
        RequestLoad.markHashing()
        let ticket = try admission.admit()
        let admission = self.admission
        // Claimed by whichever path finishes the ticket first: the job, or a drop.
        let finishedBox = FinishedFlag()
        do {
            return try await pool.runIfActive {
                guard admission.start(ticket) else {
                    if finishedBox.claim() { admission.finish(ticket, ranFor: nil) }
                    throw AuthError.overloaded(retryAfter: 1)
                }
                Self.yieldToRequests()
                let slices = HashingSlices.arm()
                defer { HashingSlices.disarm(slices) }
                let started = ContinuousClock.now
                let value = work()
                if finishedBox.claim() { admission.finish(ticket, ranFor: .now - started) }
                return value
            }
        } catch {
            if finishedBox.claim() {
                admission.dropped(ticket)
            }
            throw error
        }
    }

    /// Jobs admitted and waiting for a thread.
    public var waiting: Int { admission.waiting }

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

/// Whether a job's ticket has been finished, so that exactly one path finishes it.
private final class FinishedFlag: Sendable {
    private let value = Atomic<Bool>(false)

    /// Claims the finishing: `true` the first time only.
    func claim() -> Bool {
        !value.exchange(true, ordering: .acquiringAndReleasing)
    }
}
