import Foundation
import LatchkeyCore
import Logging
import PostgresNIO

extension PostgresStore {
    /// Runs one statement that makes a change: alone when there are no messages, otherwise in a
    /// transaction that also writes them, only when the statement reports its change (`true`).
    func writing(_ messages: [OutboxMessage], _ body: @escaping @Sendable (PostgresConnection) async throws -> Bool)
        async throws -> Bool
    {
        let logger = self.logger
        guard !messages.isEmpty else {
            return try await call { client in try await client.withConnection { try await body($0) } }
        }
        return try await transaction { connection in
            guard try await body(connection) else { return false }
            try await Self.insert(messages, on: connection, logger: logger)
            return true
        }
    }

    /// Writes messages as pending rows due at their creation, inside the caller's transaction.
    static func insert(_ messages: [OutboxMessage], on connection: PostgresConnection, logger: Logger) async throws {
        for message in messages {
            try StoreError.checkText(message.recipient)
            let (id, kind, event, recipient) = (message.id, message.channel.rawValue, message.event, message.recipient)
            let (userID, token, payload, language) = (
                message.userID, message.carriesToken, message.payload, message.language
            )
            let created = message.createdAt.timeIntervalSince1970
            try await connection.query(
                """
                INSERT INTO outbox (id, kind, event, recipient, user_id, carries_token, payload, language,
                    created_at, next_attempt_at)
                VALUES (\(id), \(kind), \(event), \(recipient), \(userID), \(token), \(payload), \(language),
                    \(created), \(created))
                """,
                logger: logger)
        }
    }

    /// Writes messages that go with no change, in one transaction.
    public func enqueue(_ messages: [OutboxMessage]) async throws {
        guard !messages.isEmpty else { return }
        let logger = self.logger
        try await transaction { connection in try await Self.insert(messages, on: connection, logger: logger) }
    }

    /// Claims due rows in one statement: the rows are locked by the inner `SELECT ... FOR UPDATE
    /// SKIP LOCKED`, so that a concurrent claim skips them rather than waits, and never gets one.
    public func claimMessages(now: Date, leaseUntil: Date, limit: Int, claim: String) async throws -> [OutboxEntry] {
        let (nowSeconds, lease, count) = (now.timeIntervalSince1970, leaseUntil.timeIntervalSince1970, max(1, limit))
        let rows = try await call { client in
            try await client.query(
                """
                UPDATE outbox SET attempts = attempts + 1, next_attempt_at = \(lease), claim = \(claim)
                WHERE id IN (
                    SELECT id FROM outbox WHERE status = 'pending' AND next_attempt_at <= \(nowSeconds)
                    ORDER BY next_attempt_at LIMIT \(count) FOR UPDATE SKIP LOCKED)
                RETURNING id, kind, event, recipient, user_id, carries_token, payload, language, created_at,
                    status, attempts, next_attempt_at, last_error, claim
                """,
                logger: self.logger
            ).collect()
        }
        return try rows.map(Self.entry)
    }

    /// Records an attempt's outcome while the row is pending under `claim`.
    public func settleMessage(id: String, claim: String, outcome: OutboxOutcome) async throws -> Bool {
        let rows = try await call { client in
            switch outcome {
            case .sent(let at):
                let seconds = at.timeIntervalSince1970
                return try await client.query(
                    """
                    UPDATE outbox SET status = 'sent', next_attempt_at = \(seconds), payload = NULL
                    WHERE id = \(id) AND claim = \(claim) AND status = 'pending' RETURNING 1
                    """,
                    logger: self.logger
                ).collect().count
            case .retry(let at, let error):
                let seconds = at.timeIntervalSince1970
                return try await client.query(
                    """
                    UPDATE outbox SET next_attempt_at = \(seconds), last_error = \(error)
                    WHERE id = \(id) AND claim = \(claim) AND status = 'pending' RETURNING 1
                    """,
                    logger: self.logger
                ).collect().count
            case .failed(let at, let error):
                let seconds = at.timeIntervalSince1970
                return try await client.query(
                    """
                    UPDATE outbox SET status = 'failed', next_attempt_at = \(seconds), last_error = \(error),
                        payload = CASE WHEN carries_token THEN NULL ELSE payload END
                    WHERE id = \(id) AND claim = \(claim) AND status = 'pending' RETURNING 1
                    """,
                    logger: self.logger
                ).collect().count
            }
        }
        return rows == 1
    }

    /// Lists rows without payloads, most recently due first.
    public func outboxEntries(status: OutboxStatus?, limit: Int) async throws -> [OutboxEntry] {
        let statuses = status.map { [$0.rawValue] } ?? ["pending", "failed"]
        let rows = try await call { client in
            try await client.query(
                """
                SELECT id, kind, event, recipient, user_id, carries_token, NULL::bytea, language, created_at,
                    status, attempts, next_attempt_at, last_error, claim
                FROM outbox WHERE status = ANY(\(statuses)::text[])
                ORDER BY next_attempt_at DESC, id DESC LIMIT \(limit)
                """,
                logger: self.logger
            ).collect()
        }
        return try rows.map(Self.entry)
    }

    /// One row without its payload.
    public func outboxEntry(id: String) async throws -> OutboxEntry? {
        let rows = try await call { client in
            try await client.query(
                """
                SELECT id, kind, event, recipient, user_id, carries_token, NULL::bytea, language, created_at,
                    status, attempts, next_attempt_at, last_error, claim
                FROM outbox WHERE id = \(id)
                """,
                logger: self.logger
            ).collect()
        }
        return try rows.first.map(Self.entry)
    }

    /// Makes a failed row with a payload pending again.
    public func requeueMessage(id: String, now: Date) async throws -> Bool {
        let seconds = now.timeIntervalSince1970
        return try await call { client in
            try await client.query(
                """
                UPDATE outbox SET status = 'pending', attempts = 0, next_attempt_at = \(seconds), claim = NULL
                WHERE id = \(id) AND status = 'failed' AND payload IS NOT NULL RETURNING 1
                """,
                logger: self.logger
            ).collect().count == 1
        }
    }

    /// Deletes one row.
    public func deleteMessage(id: String) async throws -> Bool {
        try await call { client in
            try await client.query("DELETE FROM outbox WHERE id = \(id) RETURNING 1", logger: self.logger)
                .collect().count == 1
        }
    }

    /// The pending rows' count and earliest due time.
    public func pendingMessages() async throws -> (count: Int, firstDue: Date?) {
        let row = try await call { client in
            try await client.query(
                "SELECT count(*), min(next_attempt_at) FROM outbox WHERE status = 'pending'", logger: self.logger
            ).collect().first
        }
        guard let (count, first) = try row?.decode((Int64, Double?).self) else { return (0, nil) }
        return (Int(count), first.map(Date.init(timeIntervalSince1970:)))
    }

    /// Deletes sent and failed rows that ended before `before`.
    public func purgeMessages(endedBefore before: Date) async throws -> Int {
        let seconds = before.timeIntervalSince1970
        return try await call { client in
            try await client.query(
                """
                DELETE FROM outbox WHERE status IN ('sent', 'failed') AND next_attempt_at < \(seconds) RETURNING 1
                """,
                logger: self.logger
            ).collect().count
        }
    }

    /// A row in the order the queries above select it, as an entry.
    static func entry(_ row: PostgresRow) throws -> OutboxEntry {
        let (
            id, kind, event, recipient, userID, token, payload, language, created, status, attempts, next, error, claim
        ) =
            try row.decode(
                (
                    String, String, String, String, Int64?, Bool, Data?, String?, Double, String, Int32, Double,
                    String?, String?
                ).self)
        return OutboxEntry(
            message: OutboxMessage(
                id: id, channel: MessageChannel(rawValue: kind) ?? .log, event: event, recipient: recipient,
                userID: userID, carriesToken: token, payload: payload ?? Data(), language: language,
                createdAt: Date(timeIntervalSince1970: created)),
            status: OutboxStatus(rawValue: status) ?? .failed, attempts: Int(attempts),
            nextAttemptAt: Date(timeIntervalSince1970: next), lastError: error, claim: claim)
    }
}
