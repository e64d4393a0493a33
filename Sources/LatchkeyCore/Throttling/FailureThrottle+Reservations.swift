import Foundation

/// What a reservation decided.
public enum ThrottleReservation: Sendable, Equatable {
    /// The attempt may be checked; settle it with this time.
    case reserved(at: Date)
    /// The attempt is refused before any check: wait this many seconds (at least 1).
    case refused(retryAfter: Int)
}

/// Reservations: how a burst never gets more checks than the limit (OWASP ASVS 5.0 6.3.1).
///
/// An attempt is reserved, atomically, before its password or token is checked, and settled
/// after, so that attempts checked at the same time count against the limit while they run:
/// with `maxFailures` 10, at most 10 wrong passwords are ever verified before the wait starts,
/// however many arrive at once and on however many nodes.
extension FailureThrottle {
    /// How long a reserved attempt counts, in seconds: longer than any check takes, so that only
    /// the attempts of a node that died mid-check stop counting.
    public static let pendingLifetime: TimeInterval = 60

    /// The record with one more attempt reserved, or unchanged with the reason it is refused.
    ///
    /// Refused while a wait runs (for the wait's remaining seconds), or when failures and
    /// reserved attempts together reach the limit (for 1 second: they will be settled soon).
    /// After a wait has ended, one attempt at a time is checked: the next failure starts the
    /// next, longer wait.
    /// - Parameters:
    ///   - record: The stored record, if any.
    ///   - now: The current time.
    /// - Returns: The record to store, and the decision.
    public func reserving(_ record: ThrottleRecord?, now: Date) -> (ThrottleRecord?, ThrottleReservation) {
        var record = current(record, now: now)
        record?.pending.removeAll { $0.addingTimeInterval(Self.pendingLifetime) <= now }
        if let seconds = retryAfter(record, now: now) {
            return (record, .refused(retryAfter: seconds))
        }
        let checksLeft =
            if let record, record.lockCount > 0 { 1 } else { maxFailures - (record?.count ?? 0) }
        if (record?.pending.count ?? 0) >= checksLeft {
            return (record, .refused(retryAfter: 1))
        }
        var reserved = record ?? ThrottleRecord(count: 0, firstAt: now, lastAt: now)
        reserved.pending.append(now)
        return (reserved, .reserved(at: now))
    }

    /// The record after a reserved attempt was checked.
    /// - Parameters:
    ///   - record: The stored record, if any.
    ///   - reservedAt: The reservation's time.
    ///   - succeeded: Whether the password or token was right: then every failure is forgotten
    ///     (other attempts still being checked stay reserved); otherwise the attempt becomes a
    ///     failure, and the failure that reaches the limit starts a wait.
    ///   - now: The current time.
    /// - Returns: The record to store, or `nil` when nothing is left to remember.
    public func settling(_ record: ThrottleRecord?, reservedAt: Date, succeeded: Bool, now: Date) -> ThrottleRecord? {
        var remaining = record
        remaining?.removeReservation(reservedAt)
        guard succeeded else {
            return failing(remaining, now: now)
        }
        guard var kept = remaining, !kept.pending.isEmpty else { return nil }
        kept.count = 0
        kept.lockedUntil = nil
        kept.lockCount = 0
        kept.lastAt = now
        return kept
    }

    /// The record after a reserved attempt was given up before its check (a storage failure,
    /// a shed request, a client gone): the reservation goes, nothing else changes.
    /// - Parameters:
    ///   - record: The stored record, if any.
    ///   - reservedAt: The reservation's time.
    /// - Returns: The record to store, or `nil` when nothing is left to remember.
    public func releasing(_ record: ThrottleRecord?, reservedAt: Date) -> ThrottleRecord? {
        guard var record else { return nil }
        record.removeReservation(reservedAt)
        if record.count == 0 && record.lockedUntil == nil && record.lockCount == 0 && record.pending.isEmpty {
            return nil
        }
        return record
    }
}

extension ThrottleRecord {
    /// Removes one reservation made at `time`. Times come back from the stores as seconds since
    /// 1970 in a `Double`, which may differ from the `Date` they were made from in the last bit,
    /// so the nearest reservation within a millisecond is the one.
    mutating func removeReservation(_ time: Date) {
        let nearest = pending.indices.min {
            abs(pending[$0].timeIntervalSince(time)) < abs(pending[$1].timeIntervalSince(time))
        }
        if let nearest, abs(pending[nearest].timeIntervalSince(time)) < 0.001 {
            pending.remove(at: nearest)
        }
    }
}
