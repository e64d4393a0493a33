import Foundation

/// The scheme for failed logins and wrong reset tokens: the first `maxFailures` consecutive
/// failures are answered as usual; then every attempt waits `firstWait` seconds; when a wait
/// ends, the next failure starts a wait twice as long, up to `maxWait`. Attempts during a wait
/// do not extend it; a success forgets everything; a record without a failure for `memory`
/// seconds (and no wait running) is forgotten, so nothing is ever locked for good.
public struct FailureThrottle: Sendable, Equatable {
    /// Failures answered as usual before the first wait.
    public var maxFailures: Int
    /// The first wait, seconds.
    public var firstWait: Int
    /// The longest wait, seconds.
    public var maxWait: Int
    /// Seconds after the last failure when a record is forgotten.
    public var memory: Int

    /// Creates the scheme.
    /// - Parameters:
    ///   - maxFailures: Failures before the first wait (default 10).
    ///   - firstWait: The first wait in seconds (default 60).
    ///   - maxWait: The longest wait in seconds (default 900).
    ///   - memory: Seconds after which a quiet record is forgotten (default one day).
    public init(maxFailures: Int = 10, firstWait: Int = 60, maxWait: Int = 900, memory: Int = 86_400) {
        self.maxFailures = maxFailures
        self.firstWait = firstWait
        self.maxWait = maxWait
        self.memory = memory
    }

    /// The whole seconds left in the current wait, or `nil` when an attempt may go ahead.
    /// - Parameters:
    ///   - record: The stored record.
    ///   - now: The current time.
    /// - Returns: Seconds to wait (at least 1), or `nil`.
    public func retryAfter(_ record: ThrottleRecord?, now: Date) -> Int? {
        guard let lockedUntil = record?.lockedUntil, lockedUntil > now else { return nil }
        return max(1, Int(lockedUntil.timeIntervalSince(now).rounded(.up)))
    }

    /// The record after one more failure.
    /// - Parameters:
    ///   - record: The stored record, if any.
    ///   - now: The current time.
    /// - Returns: The new record, with a wait when the failure reaches the limit.
    public func failing(_ record: ThrottleRecord?, now: Date) -> ThrottleRecord {
        var record = current(record, now: now) ?? ThrottleRecord(count: 0, firstAt: now, lastAt: now)
        if let lockedUntil = record.lockedUntil, lockedUntil > now {
            // A failure counted during a wait (it raced the check) does not extend the wait.
            record.lastAt = now
            return record
        }
        record.count += 1
        record.lastAt = now
        if record.count >= maxFailures {
            let doublings = min(record.lockCount, 30)
            let wait = min(maxWait, firstWait * (1 << doublings))
            record.lockedUntil = now.addingTimeInterval(TimeInterval(wait))
            record.lockCount += 1
        }
        return record
    }

    /// The record as it stands now: `nil` once it has been quiet for `memory` seconds.
    func current(_ record: ThrottleRecord?, now: Date) -> ThrottleRecord? {
        guard let record else { return nil }
        let locked = record.lockedUntil.map { $0 > now } ?? false
        if !locked, record.lastAt.addingTimeInterval(TimeInterval(memory)) <= now {
            return nil
        }
        return record
    }
}
