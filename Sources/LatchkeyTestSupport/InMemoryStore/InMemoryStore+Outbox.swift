import Foundation
import LatchkeyCore

extension InMemoryStore {
    /// Writes messages as pending rows, due at once.
    func write(_ messages: [OutboxMessage]) {
        for message in messages {
            outboxSequence[message.id] = outboxSequence.count
            outbox[message.id] = OutboxEntry(
                message: message, status: .pending, attempts: 0, nextAttemptAt: message.createdAt, lastError: nil,
                claim: nil)
        }
    }

    /// Drops a user's pending messages that carry a token.
    func dropTokenMessages(userID: Int64) {
        outbox = outbox.filter { _, entry in
            !(entry.message.userID == userID && entry.message.carriesToken && entry.status == .pending)
        }
    }

    /// Every row, payloads included, in the order written: what a test reads as "what was sent".
    public var outboxRows: [OutboxEntry] {
        outbox.values.sorted { (outboxSequence[$0.message.id] ?? 0) < (outboxSequence[$1.message.id] ?? 0) }
    }

    /// Makes a pending row due now, as if its delay had passed (for tests of the schedule).
    /// - Parameter id: The message's id.
    public func makeDue(id: String) {
        outbox[id]?.nextAttemptAt = .distantPast
    }

    /// Writes messages that go with no change.
    public func enqueue(_ messages: [OutboxMessage]) throws {
        try check()
        write(messages)
    }

    /// Claims due pending rows, oldest due first.
    public func claimMessages(now: Date, leaseUntil: Date, limit: Int, claim: String) throws -> [OutboxEntry] {
        try check()
        let due = outbox.values.filter { $0.status == .pending && $0.nextAttemptAt <= now }
            .sorted { ($0.nextAttemptAt, $0.message.id) < ($1.nextAttemptAt, $1.message.id) }.prefix(max(1, limit))
        return due.map { entry in
            var entry = entry
            entry.attempts += 1
            entry.nextAttemptAt = leaseUntil
            entry.claim = claim
            outbox[entry.message.id] = entry
            return entry
        }
    }

    /// Records an attempt's outcome while the row is pending under `claim`.
    public func settleMessage(id: String, claim: String, outcome: OutboxOutcome) throws -> Bool {
        try check()
        guard var entry = outbox[id], entry.status == .pending, entry.claim == claim else { return false }
        switch outcome {
        case .sent(let at):
            entry.status = .sent
            entry.nextAttemptAt = at
            entry.message = entry.message.erased
        case .retry(let at, let error):
            entry.nextAttemptAt = at
            entry.lastError = error
        case .failed(let at, let error):
            entry.status = .failed
            entry.nextAttemptAt = at
            entry.lastError = error
            if entry.message.carriesToken { entry.message = entry.message.erased }
        }
        outbox[id] = entry
        return true
    }

    /// Lists rows without payloads, most recently due first.
    public func outboxEntries(status: OutboxStatus?, limit: Int) throws -> [OutboxEntry] {
        try check()
        let wanted: [OutboxStatus] = status.map { [$0] } ?? [.pending, .failed]
        return outbox.values.filter { wanted.contains($0.status) }
            .sorted { ($0.nextAttemptAt, $0.message.id) > ($1.nextAttemptAt, $1.message.id) }
            .prefix(limit).map { entry in
                var entry = entry
                entry.message = entry.message.erased
                return entry
            }
    }

    /// One row without its payload.
    public func outboxEntry(id: String) throws -> OutboxEntry? {
        try check()
        return outbox[id].map { entry in
            var entry = entry
            entry.message = entry.message.erased
            return entry
        }
    }

    /// Makes a failed row with a payload pending again.
    public func requeueMessage(id: String, now: Date) throws -> Bool {
        try check()
        guard var entry = outbox[id], entry.status == .failed, !entry.message.payload.isEmpty else { return false }
        entry.status = .pending
        entry.attempts = 0
        entry.nextAttemptAt = now
        entry.claim = nil
        outbox[id] = entry
        return true
    }

    /// Deletes one row.
    public func deleteMessage(id: String) throws -> Bool {
        try check()
        return outbox.removeValue(forKey: id) != nil
    }

    /// The pending rows' count and earliest due time.
    public func pendingMessages() throws -> (count: Int, firstDue: Date?) {
        try check()
        let pending = outbox.values.filter { $0.status == .pending }
        return (pending.count, pending.map(\.nextAttemptAt).min())
    }

    /// Deletes sent and failed rows that ended before `before`.
    public func purgeMessages(endedBefore before: Date) throws -> Int {
        try check()
        let gone = outbox.values.filter { $0.status != .pending && $0.nextAttemptAt < before }.map(\.message.id)
        for id in gone { outbox.removeValue(forKey: id) }
        return gone.count
    }
}

extension OutboxMessage {
    /// The message with its payload erased.
    var erased: OutboxMessage {
        OutboxMessage(
            id: id, channel: channel, event: event, recipient: recipient, userID: userID, carriesToken: carriesToken,
            payload: Data(), language: language, createdAt: createdAt)
    }
}
