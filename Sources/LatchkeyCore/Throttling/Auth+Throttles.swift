import Foundation
import Metrics
import Synchronization

extension Auth {
    /// Reserves one attempt for a key before its password or token is checked, atomically in
    /// the store, so that every node counts the attempts under way (`FailureThrottle.reserving`).
    /// - Returns: The reservation's time, for `settle` or `release`.
    /// - Throws: `throttled` when the attempt is refused; `storageUnavailable`.
    func reserveAttempt(_ key: ThrottleKey, _ throttle: FailureThrottle) async throws -> Date {
        let decision = Mutex<ThrottleReservation?>(nil)
        let clock = self.clock
        _ = try await storage {
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

    /// Runs one check under a throttle: an attempt is reserved first (refused with `throttled`,
    /// counted on `refusals`, before any work), the check runs, and the attempt is settled, or
    /// given back when the check throws.
    /// - Returns: Whether the check passed, and whether its failure began a wait.
    /// - Throws: `throttled`; what `check` throws; `storageUnavailable`.
    func throttledAttempt(
        _ key: ThrottleKey, _ throttle: FailureThrottle, refusals: Counter, _ check: () async throws -> Bool
    ) async throws -> (passed: Bool, waitBegan: Bool) {
        let reservedAt: Date
        do {
            reservedAt = try await reserveAttempt(key, throttle)
        } catch AuthError.throttled(let seconds) {
            refusals.increment()
            throw AuthError.throttled(retryAfter: seconds)
        }
        let passed: Bool
        do {
            passed = try await check()
        } catch {
            await releaseAttempt(key, throttle, reservedAt: reservedAt)
            throw error
        }
        let waitBegan = try await settleAttempt(key, throttle, reservedAt: reservedAt, succeeded: passed)
        return (passed, waitBegan)
    }

    /// Settles a reserved attempt once checked: a failure counts (and may start a wait), a
    /// success forgets every failure. A checked attempt is always settled, even when its request
    /// was cancelled during the check (`updateOutlivingRequest`).
    /// - Returns: Whether this failure began a wait (for the activity's `login_throttled`, once
    ///   per wait).
    @discardableResult
    func settleAttempt(
        _ key: ThrottleKey, _ throttle: FailureThrottle, reservedAt: Date, succeeded: Bool
    ) async throws -> Bool {
        let clock = self.clock
        let began = Mutex(false)
        try await storage {
            try await updateOutlivingRequest(key) { record in
                let now = clock()
                let next = throttle.settling(record, reservedAt: reservedAt, succeeded: succeeded, now: now)
                if let until = next?.lockedUntil, until > now, until != record?.lockedUntil {
                    began.withLock { $0 = true }
                }
                return next
            }
        }
        return began.withLock { $0 }
    }

    /// Gives a reservation back when its attempt is given up before its check: shed, or its
    /// client went (`updateOutlivingRequest`). Best effort: a reservation that cannot be given
    /// back stops counting after `FailureThrottle.pendingLifetime`.
    func releaseAttempt(_ key: ThrottleKey, _ throttle: FailureThrottle, reservedAt: Date) async {
        do {
            try await updateOutlivingRequest(key) { throttle.releasing($0, reservedAt: reservedAt) }
        } catch {
            logger.warning("could not give a throttle reservation back", metadata: ["error": "\(error)"])
        }
    }

    /// Updates a throttle record in a task of its own, which a cancelled request (its client
    /// went) does not cancel: the stores fail a call made by a cancelled task.
    private func updateOutlivingRequest(
        _ key: ThrottleKey, _ update: @escaping @Sendable (ThrottleRecord?) -> ThrottleRecord?
    ) async throws {
        let store = self.store
        _ = try await Task { try await store.updateThrottleRecord(key, update) }.value
    }

    /// Counts one failure outside a reservation (a token consumed by a concurrent reset).
    func recordFailure(_ key: ThrottleKey, _ throttle: FailureThrottle) async throws {
        let now = clock()
        _ = try await storage { try await store.updateThrottleRecord(key) { throttle.failing($0, now: now) } }
    }
}
