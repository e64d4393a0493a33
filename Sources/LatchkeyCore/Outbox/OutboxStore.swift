import Foundation

/// The outbox's table: every outgoing message, written with its change and then claimed,
/// attempted and settled by the delivery service of whichever node claims it.
///
/// The operations that report a change take their messages as `messages:` and write them in the
/// same transaction (`setResetToken(_:messages:)`, `changePassword(...messages:)`, ...).
public protocol OutboxStore: Sendable {
    /// Writes messages that go with no change of their own (an attempt to register a taken
    /// address, a login that gave the password without its second factor).
    /// - Parameter messages: The messages.
    func enqueue(_ messages: [OutboxMessage]) async throws

    /// Claims up to `limit` pending rows due at `now` (oldest due first) in one statement: each
    /// gets `claim`, one more attempt, and `leaseUntil` as its due time, so that no other claimer
    /// gets it until the lease runs out (PostgreSQL: `FOR UPDATE SKIP LOCKED`; SQLite: its one
    /// writer). A row whose lease ran out is due again.
    /// - Parameters:
    ///   - now: The current time.
    ///   - leaseUntil: When the claim lapses unless settled.
    ///   - limit: The most rows to claim (at least 1).
    ///   - claim: The claim's random text.
    /// - Returns: The claimed rows, with their payloads.
    func claimMessages(now: Date, leaseUntil: Date, limit: Int, claim: String) async throws -> [OutboxEntry]

    /// Records the outcome of an attempt, only while the row is pending under `claim`.
    /// - Parameters:
    ///   - id: The message's id.
    ///   - claim: The claim it was attempted under.
    ///   - outcome: What happened.
    /// - Returns: Whether it was recorded (`false`: the lease ran out and another claim took the
    ///   row, or it is gone).
    func settleMessage(id: String, claim: String, outcome: OutboxOutcome) async throws -> Bool

    /// Lists rows without payloads, most recently due first.
    /// - Parameters:
    ///   - status: Only rows in this state; `nil` for pending and failed ones.
    ///   - limit: The most rows.
    /// - Returns: The rows, payloads empty.
    func outboxEntries(status: OutboxStatus?, limit: Int) async throws -> [OutboxEntry]

    /// Reads one row, without its payload.
    /// - Parameter id: The message's id.
    /// - Returns: The row, or `nil`.
    func outboxEntry(id: String) async throws -> OutboxEntry?

    /// Makes a failed row pending again, due at `now`, with no attempts (its payload kept).
    /// - Parameters:
    ///   - id: The message's id.
    ///   - now: The current time.
    /// - Returns: Whether a failed row with a payload was found.
    func requeueMessage(id: String, now: Date) async throws -> Bool

    /// Deletes one row (a failed token message, once a new token went out in its place).
    /// - Parameter id: The message's id.
    /// - Returns: Whether it was there.
    func deleteMessage(id: String) async throws -> Bool

    /// The pending rows: how many, and when the first is due.
    /// - Returns: The count, and the earliest due time (`nil` when none is pending).
    func pendingMessages() async throws -> (count: Int, firstDue: Date?)

    /// Deletes sent and failed rows that ended before `before`.
    /// - Parameter before: The cutoff (`OUTBOX_RETENTION` days ago).
    /// - Returns: How many went.
    func purgeMessages(endedBefore before: Date) async throws -> Int
}
