import NIOCore
import NIOPosix
import Synchronization

/// A call to the database that did not finish within its deadline.
struct DeadlineExceeded: Error {}

/// Runs work with a deadline without waiting for the work to notice it.
///
/// A task group would wait for its child after cancelling it, and a query sent to a server that
/// stopped answering does not end on cancellation; so the work runs in its own task and the
/// caller is resumed by whichever comes first: the work, the deadline, or the caller's
/// cancellation. The work is cancelled when it loses, and ends when its connection does.
///
/// The timer is a task scheduled on one of NIO's event loops, not a sleeping Swift task: a
/// sleeping task costs a task and a timer of Dispatch's on every call, which showed in the
/// profile of the PostgreSQL path (docs/benchmarks.md).
enum Deadline {
    static func run<T: Sendable>(
        _ timeout: Duration,
        on eventLoop: any EventLoop = MultiThreadedEventLoopGroup.singleton.any(),
        _ work: @escaping @Sendable () async throws -> T
    ) async throws -> T {
        let race = Race<T>()
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                race.start(continuation) {
                    let worker = Task {
                        do {
                            race.finish(.success(try await work()))
                        } catch {
                            race.finish(.failure(error))
                        }
                    }
                    let timer = eventLoop.scheduleTask(in: .nanoseconds(Int64(timeout / .nanoseconds(1)))) {
                        race.finish(.failure(DeadlineExceeded()))
                    }
                    return (worker, timer)
                }
            }
        } onCancel: {
            race.finish(.failure(CancellationError()))
        }
    }
}

/// Resumes one continuation once, with the first result offered, and cancels the worker and the
/// timer that lost.
private final class Race<T: Sendable>: Sendable {
    private struct State {
        var continuation: CheckedContinuation<T, any Error>?
        var pending: Result<T, any Error>?
        var worker: Task<Void, Never>?
        var timer: Scheduled<Void>?
        var finished = false
    }

    private let state = Mutex(State())

    /// Installs the continuation, then starts the worker and the timer; a result that arrived
    /// first (an early cancellation) resumes at once.
    func start(
        _ continuation: CheckedContinuation<T, any Error>,
        tasks makeTasks: () -> (Task<Void, Never>, Scheduled<Void>)
    ) {
        let early: Result<T, any Error>? = state.withLock { state in
            if state.finished { return state.pending }
            state.continuation = continuation
            return nil
        }
        if let early {
            continuation.resume(with: early)
            return
        }
        let (worker, timer) = makeTasks()
        let finishedMeanwhile = state.withLock { state in
            state.worker = worker
            state.timer = timer
            return state.finished
        }
        if finishedMeanwhile {
            worker.cancel()
            timer.cancel()
        }
    }

    func finish(_ result: Result<T, any Error>) {
        let (continuation, worker, timer) = state.withLock { state in
            if state.finished {
                return (CheckedContinuation<T, any Error>?.none, Task<Void, Never>?.none, Scheduled<Void>?.none)
            }
            state.finished = true
            defer {
                state.continuation = nil
                state.worker = nil
                state.timer = nil
            }
            if state.continuation == nil { state.pending = result }
            return (state.continuation, state.worker, state.timer)
        }
        continuation?.resume(with: result)
        worker?.cancel()
        timer?.cancel()
    }
}
