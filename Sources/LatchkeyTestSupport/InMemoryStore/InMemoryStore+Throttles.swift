import Foundation
import LatchkeyCore

extension InMemoryStore {
    /// Reads a throttle record.
    public func throttleRecord(_ key: ThrottleKey) throws -> ThrottleRecord? {
        try check()
        return throttles[key]
    }

    /// Changes a throttle record; the actor runs one change at a time.
    public func updateThrottleRecord(
        _ key: ThrottleKey, _ update: @escaping @Sendable (ThrottleRecord?) -> ThrottleRecord?
    ) throws -> ThrottleRecord? {
        try check()
        try StoreError.checkText(key.subject)
        throttles[key] = update(throttles[key])
        return throttles[key]
    }

    /// Deletes quiet throttle records whose wait has ended.
    public func purgeThrottles(lastBefore: Date, now: Date) throws -> Int {
        try check()
        let doomed = throttles.filter { $0.value.lastAt <= lastBefore && ($0.value.lockedUntil ?? now) <= now }
        for key in doomed.keys { throttles.removeValue(forKey: key) }
        return doomed.count
    }
}
