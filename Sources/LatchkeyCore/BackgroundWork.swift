import Synchronization

/// The work `Auth` starts after it has answered (a reset or verification token issued and sent
/// out of band, so that the answer cannot tell whether the address has an account), counted so
/// that a caller can wait until it has all finished.
final class BackgroundWork: Sendable {
    private struct State {
        var running = 0
        var waiters: [CheckedContinuation<Void, Never>] = []
    }

    private let state = Mutex(State())

    /// Starts `body` as a task of its own.
    /// - Parameter body: The work; it handles its own errors.
    func start(_ body: @escaping @Sendable () async -> Void) {
        state.withLock { $0.running += 1 }
        Task {
            await body()
            let waiters = state.withLock { state -> [CheckedContinuation<Void, Never>] in
                state.running -= 1
                guard state.running == 0 else { return [] }
                defer { state.waiters = [] }
                return state.waiters
            }
            for waiter in waiters { waiter.resume() }
        }
    }

    /// Returns once no work is running: at once when none is.
    func settled() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let idle = state.withLock { state -> Bool in
                guard state.running > 0 else { return true }
                state.waiters.append(continuation)
                return false
            }
            if idle { continuation.resume() }
        }
    }
}

extension Auth {
    /// Returns once the work started after earlier answers has finished: tokens issued and
    /// written to the outbox for reset requests, verification requests and email changes
    /// (`TOKEN_DELIVERY` `log` or `webhook`). For a graceful stop, and for tests that check what
    /// such work did, or that it did nothing, without waiting a fixed time.
    public func backgroundWorkSettled() async {
        await background.settled()
    }
}
