import Foundation
import GRDB
import LatchkeyCore

extension SQLiteStore {
    /// Writes messages as pending rows due at their creation, inside the caller's transaction.
    static func insert(_ messages: [OutboxMessage], in db: Database) throws {
        guard !messages.isEmpty else { return }
        let statement = try db.cachedStatement(
            sql: """
                INSERT INTO outbox (id, kind, event, recipient, user_id, carries_token, payload, language,
                    created_at, next_attempt_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """)
        for message in messages {
            let created = message.createdAt.timeIntervalSince1970
            try statement.execute(arguments: [
                message.id, message.channel.rawValue, message.event, message.recipient, message.userID,
                message.carriesToken, message.payload, message.language, created, created,
            ])
        }
    }

    /// Drops a user's pending messages that carry a token, inside the caller's transaction.
    static func dropTokenMessages(userID: Int64, in db: Database) throws {
        try db.execute(
            sql: "DELETE FROM outbox WHERE user_id = ? AND carries_token AND status = 'pending'", arguments: [userID])
    }

    /// Writes messages that go with no change.
    public func enqueue(_ messages: [OutboxMessage]) async throws {
        for message in messages { try StoreError.checkText(message.recipient) }
        try await write { db in try Self.insert(messages, in: db) }
    }

    /// Claims due rows in one statement on the one writer, so that no two claims get one row.
    public func claimMessages(now: Date, leaseUntil: Date, limit: Int, claim: String) async throws -> [OutboxEntry] {
        try await write { db in
            let rows = try Row.fetchAll(
                db,
                sql: """
                    UPDATE outbox SET attempts = attempts + 1, next_attempt_at = ?, claim = ?
                    WHERE id IN (
                        SELECT id FROM outbox WHERE status = 'pending' AND next_attempt_at <= ?
                        ORDER BY next_attempt_at LIMIT ?)
                    RETURNING \(Self.entryColumns)
                    """,
                arguments: [leaseUntil.timeIntervalSince1970, claim, now.timeIntervalSince1970, max(1, limit)])
            return rows.map(Self.entry)
        }
    }

    /// Records an attempt's outcome while the row is pending under `claim`.
    public func settleMessage(id: String, claim: String, outcome: OutboxOutcome) async throws -> Bool {
        try await write { db in
            switch outcome {
            case .sent(let at):
                try db.execute(
                    sql: """
                        UPDATE outbox SET status = 'sent', next_attempt_at = ?, payload = NULL
                        WHERE id = ? AND claim = ? AND status = 'pending'
                        """,
                    arguments: [at.timeIntervalSince1970, id, claim])
            case .retry(let at, let error):
                try db.execute(
                    sql: """
                        UPDATE outbox SET next_attempt_at = ?, last_error = ?
                        WHERE id = ? AND claim = ? AND status = 'pending'
                        """,
                    arguments: [at.timeIntervalSince1970, error, id, claim])
            case .failed(let at, let error):
                try db.execute(
                    sql: """
                        UPDATE outbox SET status = 'failed', next_attempt_at = ?, last_error = ?,
                            payload = CASE WHEN carries_token THEN NULL ELSE payload END
                        WHERE id = ? AND claim = ? AND status = 'pending'
                        """,
                    arguments: [at.timeIntervalSince1970, error, id, claim])
            }
            return db.changesCount == 1
        }
    }

    /// Lists rows without payloads, most recently due first.
    public func outboxEntries(status: OutboxStatus?, limit: Int) async throws -> [OutboxEntry] {
        let statuses = status.map { [$0.rawValue] } ?? ["pending", "failed"]
        return try readHere { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT \(Self.entryColumns(payload: false)) FROM outbox WHERE status IN (?, ?)
                    ORDER BY next_attempt_at DESC, id DESC LIMIT ?
                    """,
                arguments: [statuses[0], statuses.last ?? statuses[0], limit]
            ).map(Self.entry)
        }
    }

    /// One row without its payload.
    public func outboxEntry(id: String) async throws -> OutboxEntry? {
        try readHere { db in
            try Row.fetchOne(
                db, sql: "SELECT \(Self.entryColumns(payload: false)) FROM outbox WHERE id = ?", arguments: [id]
            ).map(Self.entry)
        }
    }

    /// Makes a failed row with a payload pending again.
    public func requeueMessage(id: String, now: Date) async throws -> Bool {
        try await write { db in
            try db.execute(
                sql: """
                    UPDATE outbox SET status = 'pending', attempts = 0, next_attempt_at = ?, claim = NULL
                    WHERE id = ? AND status = 'failed' AND payload IS NOT NULL
                    """,
                arguments: [now.timeIntervalSince1970, id])
            return db.changesCount == 1
        }
    }

    /// Deletes one row.
    public func deleteMessage(id: String) async throws -> Bool {
        try await write { db in
            try db.execute(sql: "DELETE FROM outbox WHERE id = ?", arguments: [id])
            return db.changesCount == 1
        }
    }

    /// The pending rows' count and earliest due time.
    public func pendingMessages() async throws -> (count: Int, firstDue: Date?) {
        try readHere { db in
            let row = try Row.fetchOne(
                db, sql: "SELECT count(*), min(next_attempt_at) FROM outbox WHERE status = 'pending'")
            let first: Double? = row?[1]
            return (row?[0] ?? 0, first.map(Date.init(timeIntervalSince1970:)))
        }
    }

    /// Deletes sent and failed rows that ended before `before`.
    public func purgeMessages(endedBefore before: Date) async throws -> Int {
        try await write { db in
            try db.execute(
                sql: "DELETE FROM outbox WHERE status IN ('sent', 'failed') AND next_attempt_at < ?",
                arguments: [before.timeIntervalSince1970])
            return db.changesCount
        }
    }

    /// The columns `entry(_:)` reads, in order.
    static let entryColumns = entryColumns(payload: true)

    static func entryColumns(payload: Bool) -> String {
        "id, kind, event, recipient, user_id, carries_token, \(payload ? "payload" : "NULL"), language, created_at, "
            + "status, attempts, next_attempt_at, last_error, claim"
    }

    /// A row of `entryColumns` as an entry (an unknown kind or status reads as `log`, `failed`).
    static func entry(_ row: Row) -> OutboxEntry {
        let payload: Data? = row[6]
        return OutboxEntry(
            message: OutboxMessage(
                id: row[0], channel: MessageChannel(rawValue: row[1]) ?? .log, event: row[2], recipient: row[3],
                userID: row[4], carriesToken: row[5], payload: payload ?? Data(), language: row[7],
                createdAt: Date(timeIntervalSince1970: row[8])),
            status: OutboxStatus(rawValue: row[9]) ?? .failed, attempts: row[10],
            nextAttemptAt: Date(timeIntervalSince1970: row[11]), lastError: row[12], claim: row[13])
    }
}
