import Foundation
import Synchronization

/// Whether this process is serving requests that do not hash, so that hashing can give way to
/// them.
///
/// The HTTP layer runs every request inside `serve(_:)`. A request that hands a job to a
/// `HashingPool` is marked; one that ends unmarked (a profile read, a session check, a health
/// check) records the time. For `windowNanoseconds` after such a request, the hashing threads pause
/// briefly every few milliseconds so that requests like it get a core (see `HashingSlices`).
/// Under a flood of logins alone, or in `hash-benchmark`, nothing is recorded and hashing keeps
/// every core.
public enum RequestLoad {
    /// How long after a request that did not hash hashing keeps giving way: 50 ms.
    static let windowNanoseconds = 50_000_000

    /// When the last request that did not hash ended, in `CLOCK_MONOTONIC` nanoseconds.
    static let lastCheapRequest = Atomic<Int>(Int.min / 2)

    /// Marks the request that hands a job to a hashing pool.
    final class Marker: Sendable {
        let hashed = Atomic<Bool>(false)
    }

    @TaskLocal static var current: Marker?

    /// Serves one request, and records its end when it did not hash.
    /// - Parameter request: The request's handling.
    /// - Returns: What the handling returned.
    public static func serve<T>(_ request: () async throws -> T) async throws -> T {
        let marker = Marker()
        defer {
            if !marker.hashed.load(ordering: .relaxed) {
                lastCheapRequest.store(monotonicNanoseconds(), ordering: .relaxed)
            }
        }
        return try await $current.withValue(marker) { try await request() }
    }

    /// Called by `HashingPool` for the job of the request being served, if any.
    static func markHashing() {
        current?.hashed.store(true, ordering: .relaxed)
    }

    /// Whether hashing should give way at `now`.
    /// - Parameters:
    ///   - now: The time, in monotonic nanoseconds.
    ///   - lastCheap: When the last request that did not hash ended.
    /// - Returns: `true` within `windowNanoseconds` of that request.
    static func shouldYield(now: Int, lastCheap: Int) -> Bool {
        now - lastCheap < windowNanoseconds
    }

    /// `shouldYield` now. Called from the slices' signal handler: it reads the clock and two
    /// values that `HashingSlices.arm()` has made sure exist.
    static var shouldYieldNow: Bool {
        shouldYield(now: monotonicNanoseconds(), lastCheap: lastCheapRequest.load(ordering: .relaxed))
    }

    /// `CLOCK_MONOTONIC` in nanoseconds (`clock_gettime` may be called from a signal handler).
    static func monotonicNanoseconds() -> Int {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        return now.tv_sec * 1_000_000_000 + now.tv_nsec
    }
}

#if os(Linux)
    import Glibc

    /// Makes a hashing thread give way to requests in slices.
    ///
    /// bcrypt is one call into C that keeps a core for a quarter of a second. The scheduler
    /// sometimes picks a hashing thread while a request thread is queued on the same core, and
    /// then, because nothing else happens on that core, lets it run until the next tick (4 ms
    /// at 250 Hz): the request waits the whole time. While a job runs, a timer sends its thread
    /// a signal every `period`; the handler, while `RequestLoad` says requests that do not hash
    /// are being served, sleeps for `pause`, which takes the thread off the core so that a
    /// queued request thread runs. So such a request waits about one period at most behind a
    /// hash, not a tick. Otherwise the handler returns at once and hashing keeps every core.
    enum HashingSlices {
        /// How often a hashing thread checks for requests to give way to.
        static let period = timespec(tv_sec: 0, tv_nsec: 2_000_000)
        /// How long it gives way each time.
        static let pause = timespec(tv_sec: 0, tv_nsec: 100_000)

        /// The pauses taken so far, for tests and diagnostics.
        static let pauses = Atomic<Int>(0)

        /// A real-time signal, which unlike the classic ones queues and has no other meaning.
        static let signal: Int32 = __libc_current_sigrtmin() + 4

        /// Installs the handler once; `false` when the system refused it.
        static let installed: Bool = {
            var action = sigaction()
            action.__sigaction_handler.sa_handler = { _ in
                guard RequestLoad.shouldYieldNow else { return }
                var rest = HashingSlices.pause
                _ = nanosleep(&rest, nil)
                HashingSlices.pauses.add(1, ordering: .relaxed)
            }
            action.sa_flags = SA_RESTART
            sigemptyset(&action.sa_mask)
            return sigaction(signal, &action, nil) == 0
        }()

        /// Starts the timer for the calling thread.
        /// - Returns: The timer, or `nil` when slicing is unavailable (the job then runs whole).
        static func arm() -> timer_t? {
            // Everything the handler touches exists before the first signal.
            _ = RequestLoad.windowNanoseconds
            _ = RequestLoad.shouldYieldNow
            _ = pauses.load(ordering: .relaxed)
            _ = pause
            guard installed, let thread = currentThreadID() else { return nil }
            // NIO's threads block every signal; this one is only ever sent to this thread.
            var signals = sigset_t()
            sigemptyset(&signals)
            sigaddset(&signals, signal)
            pthread_sigmask(SIG_UNBLOCK, &signals, nil)
            var event = sigevent()
            event.sigev_notify = Int32(SIGEV_THREAD_ID)
            event.sigev_signo = signal
            event._sigev_un._tid = thread
            var timer: timer_t?
            guard timer_create(CLOCK_MONOTONIC, &event, &timer) == 0 else { return nil }
            var schedule = itimerspec(it_interval: period, it_value: period)
            guard timer_settime(timer, 0, &schedule, nil) == 0 else {
                timer_delete(timer)
                return nil
            }
            return timer
        }

        /// Stops and frees a timer from `arm()`.
        static func disarm(_ timer: timer_t?) {
            if let timer { timer_delete(timer) }
        }

        /// The kernel's id of the calling thread, which a thread-directed timer needs (glibc's
        /// `gettid` is not visible to Swift here).
        static func currentThreadID() -> pid_t? {
            var buffer = [CChar](repeating: 0, count: 64)
            let count = readlink("/proc/thread-self", &buffer, buffer.count - 1)
            guard count > 0 else { return nil }
            let link = String(decoding: buffer[0..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
            return link.split(separator: "/").last.flatMap { pid_t($0) }
        }
    }

#else
    /// Slicing needs Linux's thread-directed timers; elsewhere jobs run whole.
    enum HashingSlices {
        static func arm() -> Int? { nil }
        static func disarm(_ timer: Int?) {}
    }
#endif
