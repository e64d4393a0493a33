import Foundation

/// When a failed message is tried again: after 10 s, 1 min, 5 min, 30 min, 2 h, 6 h and 12 h with
/// the default first delay (about 21 hours in all), each within ±20 % (jitter, so that the
/// messages of one outage do not all come due at once); after the last, the row is failed.
/// `OUTBOX_RETRY_FIRST` sets the first delay and the others scale with it.
public struct OutboxSchedule: Sendable, Equatable {
    /// Each retry's delay as a multiple of the first.
    static let multiples: [Int] = [1, 6, 30, 180, 720, 2160, 4320]

    /// The first delay, in seconds.
    public var firstDelay: Int

    /// Creates a schedule.
    /// - Parameter firstDelay: The first delay, in seconds (at least 1; default 10).
    public init(firstDelay: Int = 10) {
        self.firstDelay = max(1, firstDelay)
    }

    /// How many attempts a message gets in all: the first and one per delay.
    public var attempts: Int { Self.multiples.count + 1 }

    /// The delays without jitter, in seconds, in order.
    public var delays: [Int] { Self.multiples.map { $0 * firstDelay } }

    /// The delay after a failed attempt, with jitter.
    /// - Parameters:
    ///   - attempt: The attempt that failed, from 1.
    ///   - jitter: A number in 0..<1 (random in use; fixed in tests).
    /// - Returns: The delay in seconds, or `nil` when that was the last attempt.
    public func delay(after attempt: Int, jitter: Double = Double.random(in: 0..<1)) -> Double? {
        guard attempt >= 1, attempt <= Self.multiples.count else { return nil }
        return Double(Self.multiples[attempt - 1] * firstDelay) * (0.8 + 0.4 * jitter)
    }
}
