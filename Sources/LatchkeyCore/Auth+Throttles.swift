import Foundation
import Synchronization

extension Auth {
    /// Reserves one attempt for a key before its password or token is checked, atomically in
    /// the store, so that every node counts the attempts under way (`FailureThrottle.reserving`).
    /// - Returns: The reservation's time, for `settle` or `release`.
    /// - Throws: `throttled` when the attempt is refused; `storageUnavailable`.
    func reserveAttempt(_ key: ThrottleKey, _ throttle: FailureThrottle) async throws -> Date {
        let decision = Mutex<ThrottleReservation?>(nil)
        let clock = self.clock
        try await storage {
            try await store.updateThrottleRecord(key) { record in
                // The time is read once the store holds the record: a wait that another node
                // started while this update waited for the lock must not look longer than it is.
                let (next, reservation) = throttle.reserving(record, now: clock())
                decision.withLock { $0 = reservation }
                return next
            }
        }
        switch decision.withLock({ $0 }) {
        case .reserved(let at):
            return at
        case .refused(let seconds):
            throw AuthError.throttled(retryAfter: seconds)
        case nil:
            throw AuthError.storageUnavailable
        }
    }

    /// Settles a reserved attempt once checked: a failure counts (and may start a wait), a
    /// success forgets every failure. The store call runs in a task of its own, which a
    /// cancelled request (its client went during the check) does not cancel: a checked attempt
    /// is always settled.
    func settleAttempt(
        _ key: ThrottleKey, _ throttle: FailureThrottle, reservedAt: Date, succeeded: Bool
    ) async throws {
        let clock = self.clock
        let store = self.store
        let settle = Task {
            try await store.updateThrottleRecord(key) {
                throttle.settling($0, reservedAt: reservedAt, succeeded: succeeded, now: clock())
            }
        }
        try await storage { _ = try await settle.value }
    }

    /// Gives a reservation back when its attempt is given up before its check: shed, or its
    /// client went (the request's task is then cancelled, so the store call runs in a task of
    /// its own, which a cancelled request does not cancel). Best effort: a reservation that
    /// cannot be given back stops counting after `FailureThrottle.pendingLifetime`.
    func releaseAttempt(_ key: ThrottleKey, _ throttle: FailureThrottle, reservedAt: Date) async {
        let store = self.store
        let release = Task {
            try await store.updateThrottleRecord(key) { throttle.releasing($0, reservedAt: reservedAt) }
        }
        do {
            _ = try await release.value
        } catch {
            logger.warning("could not give a throttle reservation back", metadata: ["error": "\(error)"])
        }
    }

    /// Counts one failure outside a reservation (a token consumed by a concurrent reset).
    func recordFailure(_ key: ThrottleKey, _ throttle: FailureThrottle) async throws {
        let now = clock()
        try await storage { try await store.updateThrottleRecord(key) { throttle.failing($0, now: now) } }
    }
}
