import Synchronization

/// A call to the database that did not finish within its deadline.
struct DeadlineExceeded: Error {}

/// Runs work with a deadline without waiting for the work to notice it.
///
/// A task group would wait for its child after cancelling it, and a query sent to a server that
/// stopped answering does not end on cancellation; so the work runs in its own task and the
/// caller is resumed by whichever comes first: the work, the deadline, or the caller's
/// cancellation. The work is cancelled when it loses, and ends when its connection does.
enum Deadline {
    static func run<T: Sendable>(
        _ timeout: Duration,
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
                    let timer = Task {
                        do {
                            try await Task.sleep(for: timeout)
                            race.finish(.failure(DeadlineExceeded()))
                        } catch {
                            // Cancelled: the work finished first.
                        }
                    }
                    return [worker, timer]
                }
            }
        } onCancel: {
            race.finish(.failure(CancellationError()))
        }
    }
}

/// Resumes one continuation once, with the first result offered, and cancels the tasks that lost.
private final class Race<T: Sendable>: Sendable {
    private struct State {
        var continuation: CheckedContinuation<T, any Error>?
        var pending: Result<T, any Error>?
        var tasks: [Task<Void, Never>] = []
        var finished = false
    }

    private let state = Mutex(State())

    /// Installs the continuation, then starts the tasks; a result that arrived first (an early
    /// cancellation) resumes at once.
    func start(_ continuation: CheckedContinuation<T, any Error>, tasks makeTasks: () -> [Task<Void, Never>]) {
        let early: Result<T, any Error>? = state.withLock { state in
            if state.finished { return state.pending }
            state.continuation = continuation
            return nil
        }
        if let early {
            continuation.resume(with: early)
            return
        }
        let tasks = makeTasks()
        let finishedMeanwhile = state.withLock { state in
            state.tasks = tasks
            return state.finished
        }
        if finishedMeanwhile {
            for task in tasks { task.cancel() }
        }
    }

    func finish(_ result: Result<T, any Error>) {
        let (continuation, tasks): (CheckedContinuation<T, any Error>?, [Task<Void, Never>]) = state.withLock {
            state in
            if state.finished { return (nil, []) }
            state.finished = true
            defer {
                state.continuation = nil
                state.tasks = []
            }
            if state.continuation == nil { state.pending = result }
            return (state.continuation, state.tasks)
        }
        continuation?.resume(with: result)
        for task in tasks { task.cancel() }
    }
}
