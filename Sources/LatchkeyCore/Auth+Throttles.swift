import Foundation

extension Auth {
    /// Reads a throttle record and refuses the attempt while its wait runs.
    /// - Returns: The record, so that a success can clear it.
    func checkThrottle(_ key: ThrottleKey, _ throttle: FailureThrottle) async throws -> ThrottleRecord? {
        let record = try await storage { try await store.throttleRecord(key) }
        if let seconds = throttle.retryAfter(record, now: clock()) {
            throw AuthError.throttled(retryAfter: seconds)
        }
        return record
    }

    /// Counts one failure, starting a wait when it reaches the limit.
    func recordFailure(_ key: ThrottleKey, _ throttle: FailureThrottle) async throws {
        let now = clock()
        try await storage { try await store.updateThrottleRecord(key) { throttle.failing($0, now: now) } }
    }
}
