import Foundation
import Metrics
import Synchronization

/// Decides, when a job is handed to a `HashingPool`, whether it can start within the queue
/// timeout, and drops a queued job whose deadline passed or whose client went before it
/// starts: a flood of logins is shed at once with a 503 instead of queueing work for clients
/// that will have gone by the time it runs (OWASP ASVS 5.0 13.1.3, resource exhaustion).
///
/// The wait a new job would have is estimated from the jobs admitted and not finished and the
/// measured duration of recent jobs, not a constant: the shorter of an exponentially weighted
/// mean and the last job's duration, so that once the cores are free again (hashes ran slowly
/// while cheap requests took them) a single fast job brings the estimate back, instead of the
/// mean refusing work the threads could do. With `n` jobs in the pool and `t` threads, the new
/// job starts after about `(n - t + 1) / t` job durations. So the queue holds about
/// `t × (timeout / duration + 1)` jobs; one admitted on an estimate that proves short is still
/// dropped at its deadline.
public final class HashingAdmission: Sendable {
    /// A job admitted, until it finishes.
    public struct Ticket: Sendable {
        /// When the job must have started, or be dropped; `nil` for never.
        let deadline: ContinuousClock.Instant?
    }

    private struct State {
        /// Jobs admitted and not finished: queued or running.
        var admitted = 0
        /// Jobs running on a thread.
        var running = 0
        /// The mean duration of recent jobs, in seconds; `nil` before the first one.
        var meanDuration: Double?
        /// The duration of the last job, in seconds.
        var lastDuration = Double.infinity
    }

    /// The threads jobs run on.
    let threads: Int
    /// How long a job may wait for a thread; `nil` for as long as it takes.
    let queueTimeout: Duration?
    private let state = Mutex(State())
    private let depth: Gauge
    private let shed: Counter

    /// Creates the admission of a pool.
    /// - Parameters:
    ///   - threads: The pool's threads.
    ///   - queueTimeout: How long a job may wait for a thread (`HASH_QUEUE_TIMEOUT`); `nil`
    ///     admits every job (the command-line tools, which hash one job after another).
    ///   - factory: Where `latchkey_hashing_queue_depth` (jobs waiting for a thread) and
    ///     `latchkey_hashing_shed_total` (jobs refused or dropped) go.
    public init(threads: Int, queueTimeout: Duration?, factory: any MetricsFactory = MetricsSystem.factory) {
        self.threads = max(1, threads)
        self.queueTimeout = queueTimeout
        depth = Gauge(label: "latchkey_hashing_queue_depth", factory: factory)
        shed = Counter(label: "latchkey_hashing_shed_total", factory: factory)
    }

    /// Admits a job, or refuses it when it would wait longer than the queue timeout.
    /// - Parameter now: The time of the request.
    /// - Returns: The job's ticket, for `start(_:now:)` and `finish(_:ranFor:)`.
    /// - Throws: `AuthError.overloaded` with the whole seconds until the work already admitted
    ///   should be done (1 at least).
    public func admit(now: ContinuousClock.Instant = .now) throws(AuthError) -> Ticket {
        let refusal: Int? = state.withLock { state in
            if let queueTimeout, let average = state.meanDuration, state.admitted >= threads {
                let mean = min(average, state.lastDuration)
                let rounds = Double(state.admitted - threads + 1) / Double(threads)
                let wait = rounds * mean
                if wait > queueTimeout.seconds {
                    let drain = Double(state.admitted) / Double(threads) * mean
                    return max(1, Int(drain.rounded(.up)))
                }
            }
            state.admitted += 1
            return nil
        }
        if let retryAfter = refusal {
            shed.increment()
            throw .overloaded(retryAfter: retryAfter)
        }
        updateDepth()
        return Ticket(deadline: queueTimeout.map { now.advanced(by: $0) })
    }

    /// Called on a thread when the job's turn comes.
    /// - Parameters:
    ///   - ticket: The job's ticket.
    ///   - now: The time.
    /// - Returns: Whether to run the job: not when its deadline passed (it is then counted as
    ///   shed, and the caller calls `finish(_:ranFor:)` with `nil`).
    public func start(_ ticket: Ticket, now: ContinuousClock.Instant = .now) -> Bool {
        guard ticket.deadline.map({ now <= $0 }) ?? true else {
            shed.increment()
            return false
        }
        state.withLock { $0.running += 1 }
        updateDepth()
        return true
    }

    /// Called for a queued job dropped because its request was cancelled (its client went):
    /// counted as shed, and finished.
    /// - Parameter ticket: The job's ticket.
    public func dropped(_ ticket: Ticket) {
        shed.increment()
        finish(ticket, ranFor: nil)
    }

    /// Called when the job is done, or was dropped.
    /// - Parameters:
    ///   - ticket: The job's ticket.
    ///   - duration: How long it ran, or `nil` when it did not.
    public func finish(_ ticket: Ticket, ranFor duration: Duration?) {
        state.withLock { state in
            state.admitted -= 1
            guard let duration else { return }
            state.running -= 1
            let seconds = duration.seconds
            state.meanDuration = state.meanDuration.map { 0.8 * $0 + 0.2 * seconds } ?? seconds
            state.lastDuration = seconds
        }
        updateDepth()
    }

    /// Jobs admitted and waiting for a thread.
    public var waiting: Int {
        state.withLock { $0.admitted - $0.running }
    }

    private func updateDepth() {
        depth.record(waiting)
    }
}

/// Lets a repeated warning through once a second at most.
final class OncePerSecond: Sendable {
    private let last = Mutex<ContinuousClock.Instant?>(nil)

    /// Whether to write the warning at `now`: the first time, then once a second has passed
    /// since the last one written.
    func shouldWarn(now: ContinuousClock.Instant) -> Bool {
        last.withLock { last in
            if let previous = last, now - previous < .seconds(1) {
                return false
            }
            last = now
            return true
        }
    }
}

extension Duration {
    /// The duration in seconds.
    var seconds: Double {
        let (whole, fraction) = components
        return Double(whole) + Double(fraction) / 1e18
    }
}
