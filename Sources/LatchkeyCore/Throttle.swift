import Foundation

/// What a throttle counts, per normalised email.
public enum ThrottleScope: String, Sendable, CaseIterable {
    /// Failed logins (`POST /sessions`).
    case login
    /// Wrong reset tokens (`PUT /reset_password`).
    case resetToken = "reset_token"
    /// Reset tokens requested (`POST /reset_password`).
    case resetRequest = "reset_request"
}

/// One throttle's row: a scope and the normalised email it counts for, registered or not.
public struct ThrottleKey: Sendable, Hashable {
    /// What is counted.
    public var scope: ThrottleScope
    /// The normalised email.
    public var subject: String

    /// Creates a key.
    /// - Parameters:
    ///   - scope: What is counted.
    ///   - subject: The normalised email.
    public init(_ scope: ThrottleScope, _ subject: String) {
        self.scope = scope
        self.subject = subject
    }
}

/// What a store keeps per throttle key. Stores keep it as it is; the rules below interpret it.
public struct ThrottleRecord: Sendable, Equatable {
    /// Failures (or requests) counted since the record started.
    public var count: Int
    /// When the record started: the first failure, or the start of the request window.
    public var firstAt: Date
    /// The last failure or request.
    public var lastAt: Date
    /// The end of the current wait, if one was imposed.
    public var lockedUntil: Date?
    /// How many waits have been imposed so far (each doubles the next).
    public var lockCount: Int

    /// Creates a record.
    /// - Parameters:
    ///   - count: Failures or requests counted.
    ///   - firstAt: When the record started.
    ///   - lastAt: The last failure or request.
    ///   - lockedUntil: The end of the current wait.
    ///   - lockCount: Waits imposed so far.
    public init(count: Int, firstAt: Date, lastAt: Date, lockedUntil: Date? = nil, lockCount: Int = 0) {
        self.count = count
        self.firstAt = firstAt
        self.lastAt = lastAt
        self.lockedUntil = lockedUntil
        self.lockCount = lockCount
    }
}

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

/// A fixed-window limit on requests per email: at most `maxRequests` in `window` seconds.
public struct RequestLimit: Sendable, Equatable {
    /// Requests allowed per window.
    public var maxRequests: Int
    /// The window, seconds.
    public var window: Int

    /// Creates the limit.
    /// - Parameters:
    ///   - maxRequests: Requests allowed per window (default 5).
    ///   - window: The window in seconds (default one hour).
    public init(maxRequests: Int = 5, window: Int = 3600) {
        self.maxRequests = maxRequests
        self.window = window
    }

    /// The record after one more request; a request over the limit is counted too.
    /// - Parameters:
    ///   - record: The stored record, if any.
    ///   - now: The current time.
    /// - Returns: The new record.
    public func requesting(_ record: ThrottleRecord?, now: Date) -> ThrottleRecord {
        guard var record, record.firstAt.addingTimeInterval(TimeInterval(window)) > now else {
            return ThrottleRecord(count: 1, firstAt: now, lastAt: now)
        }
        record.count += 1
        record.lastAt = now
        return record
    }

    /// The whole seconds until the window ends when `record` is over the limit, or `nil`.
    /// - Parameters:
    ///   - record: The record after this request.
    ///   - now: The current time.
    /// - Returns: Seconds to wait (at least 1), or `nil`.
    public func retryAfter(_ record: ThrottleRecord, now: Date) -> Int? {
        guard record.count > maxRequests else { return nil }
        let end = record.firstAt.addingTimeInterval(TimeInterval(window))
        return max(1, Int(end.timeIntervalSince(now).rounded(.up)))
    }
}
