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
        let cancelled = CancelledFlag()
        // The job is submitted with a flag of its own rather than through `runIfActive`, whose
        // record of cancelled jobs keeps the id of a job cancelled while it runs for ever.
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
                pool.submit { state in
                    guard case .active = state else {
                        admission.finish(ticket, ranFor: nil)
                        continuation.resume(throwing: NIOThreadPoolError.ThreadPoolInactive())
                        return
                    }
                    if cancelled.isSet {
                        admission.dropped(ticket)
                        continuation.resume(throwing: CancellationError())
                        return
                    }
                    guard admission.start(ticket) else {
                        admission.finish(ticket, ranFor: nil)
                        continuation.resume(throwing: AuthError.overloaded(retryAfter: 1))
                        return
                    }
                    Self.yieldToRequests()
                    let slices = HashingSlices.arm()
                    let started = ContinuousClock.now
                    let value = work()
                    HashingSlices.disarm(slices)
                    admission.finish(ticket, ranFor: .now - started)
                    continuation.resume(returning: value)
                }
            }
        } onCancel: {
            cancelled.set()
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

/// Whether a job's request was cancelled (its client went) before the job's turn came.
private final class CancelledFlag: Sendable {
    private let value = Atomic<Bool>(false)

    func set() { value.store(true, ordering: .releasing) }
    var isSet: Bool { value.load(ordering: .acquiring) }
}
