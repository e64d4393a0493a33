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
