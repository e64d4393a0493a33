import Foundation

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
    /// When each attempt now being checked was reserved (`FailureThrottle.reserving`), oldest
    /// first; an attempt reserved more than `FailureThrottle.pendingLifetime` ago no longer
    /// counts (its node may have died mid-check).
    public var pending: [Date]

    /// Creates a record.
    /// - Parameters:
    ///   - count: Failures or requests counted.
    ///   - firstAt: When the record started.
    ///   - lastAt: The last failure or request.
    ///   - lockedUntil: The end of the current wait.
    ///   - lockCount: Waits imposed so far.
    ///   - pending: When each attempt now being checked was reserved.
    public init(
        count: Int, firstAt: Date, lastAt: Date, lockedUntil: Date? = nil, lockCount: Int = 0, pending: [Date] = []
    ) {
        self.count = count
        self.firstAt = firstAt
        self.lastAt = lastAt
        self.lockedUntil = lockedUntil
        self.lockCount = lockCount
        self.pending = pending
    }

    /// The pending attempts as stores keep them: seconds since 1970, separated by spaces.
    public var pendingText: String {
        pending.map { String($0.timeIntervalSince1970) }.joined(separator: " ")
    }

    /// Reads pending attempts as `pendingText` writes them; unreadable parts are dropped.
    /// - Parameter text: The stored text.
    /// - Returns: The times, in order.
    public static func pending(fromText text: String) -> [Date] {
        text.split(separator: " ").compactMap { Double($0) }.map { Date(timeIntervalSince1970: $0) }
    }
}
