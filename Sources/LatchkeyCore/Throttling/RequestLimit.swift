import Foundation

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
    func requesting(_ record: ThrottleRecord?, now: Date) -> ThrottleRecord {
        guard var record, record.firstAt.addingTimeInterval(TimeInterval(window)) > now else {
            return ThrottleRecord(count: 1, firstAt: now, lastAt: now)
        }
        record.count += 1
        record.lastAt = now
        return record
    }

    /// The record with one request given back (a counted request whose change did not happen).
    /// - Parameter record: The stored record, if any.
    /// - Returns: The new record, or `nil` when none is left.
    func returning(_ record: ThrottleRecord?) -> ThrottleRecord? {
        guard var record, record.count > 1 else { return nil }
        record.count -= 1
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
