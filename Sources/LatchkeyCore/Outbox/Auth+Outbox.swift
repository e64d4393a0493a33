import Foundation

/// A claimed message, opened for its sender.
public struct DeliverableMessage: Sendable {
    /// The row as claimed (its payload still sealed).
    public let entry: OutboxEntry
    /// The event's JSON (`AccountEvent.json()`): the webhook's body.
    public let body: Data

    /// The message's id: the same on every attempt.
    public var id: String { entry.message.id }
    /// Which attempt this is, from 1.
    public var attempt: Int { entry.attempts }
}

extension Auth {
    /// Notices of one kind to one address: at most this many an hour, counted in the database so
    /// that every node shares the count (a flood of notices is itself an attack on a mailbox).
    static let noticeLimit = RequestLimit(maxRequests: 1, window: 3600)

    /// The bell that wakes this node's delivery service when a message commits.
    public var outboxBell: OutboxBell { bell }

    /// The outbox rows of events, one per channel (`policy.tokenChannels` for a token,
    /// `policy.noticeChannels` for a notice), sealed. A notice
    /// beyond its hourly limit (one per recipient and event) is left out, and logged.
    /// - Parameters:
    ///   - events: The events, in order.
    ///   - userID: The account they are about, if any.
    ///   - languages: The `Accept-Language` of the request that caused them (`SessionOrigin`), kept
    ///     on each row; `nil` for background and operator events, whose mail is in English.
    /// - Returns: The messages, to pass to the store operation that makes the change.
    /// - Throws: `storageUnavailable` when a token message cannot be sealed (no key configured;
    ///   start-up refuses that configuration).
    func outboxMessages(_ events: [AccountEvent], userID: Int64?, languages: String? = nil) async throws
        -> [OutboxMessage]
    {
        var messages: [OutboxMessage] = []
        let now = clock()
        for event in events {
            if !event.carriesToken {
                let key = ThrottleKey(.notice, event.name + " " + event.recipient)
                do {
                    try await countRequest(key, Self.noticeLimit)
                } catch AuthError.throttled {
                    logger.notice(
                        "notice dropped: one an hour per address and event",
                        metadata: ["event": "\(event.name)", "recipient": "\(event.recipient)"])
                    continue
                } catch {
                    // Counting failed: the notice goes anyway (its change is what matters).
                    logger.warning("could not count a notice", metadata: ["event": "\(event.name)"])
                }
            }
            let json = event.json()
            for channel in event.carriesToken ? policy.tokenChannels : policy.noticeChannels {
                let id = OutboxMessage.newID()
                let payload: Data
                do {
                    payload = try MessagePayload.seal(
                        json, id: id, carriesToken: event.carriesToken, keyring: policy.secondFactorKeyring)
                } catch {
                    logger.error(
                        "a message could not be sealed", metadata: ["event": "\(event.name)", "error": "\(error)"])
                    throw AuthError.storageUnavailable
                }
                messages.append(
                    OutboxMessage(
                        id: id, channel: channel, event: event.name, recipient: event.recipient, userID: userID,
                        carriesToken: event.carriesToken, payload: payload, language: languages, createdAt: now))
            }
        }
        return messages
    }

    /// Writes the messages of events that go with no change of their own, and wakes the sender.
    /// Best effort: the request they report has happened, and a failure is logged.
    /// - Parameters:
    ///   - events: The events.
    ///   - userID: The account, if any.
    ///   - languages: The request's `Accept-Language`, if any.
    func send(_ events: [AccountEvent], userID: Int64?, languages: String? = nil) async {
        do {
            let messages = try await outboxMessages(events, userID: userID, languages: languages)
            guard !messages.isEmpty else { return }
            try await store.enqueue(messages)
            bell.ring()
        } catch {
            logger.error(
                "a message could not be written to the outbox",
                metadata: ["event": "\(events.map(\.name).joined(separator: ","))", "error": "\(error)"])
        }
    }

    /// Runs a store operation that writes `messages` with its change, and wakes the sender once
    /// it committed. When the operation reports that its change did not happen (`changed` is
    /// false), no message was written, and the notices' hourly counts are given back, so that a
    /// refused change (a wrong recovery code, a factor already gone) does not silence the notice
    /// of the next one.
    /// - Parameters:
    ///   - messages: The messages the operation writes with its change.
    ///   - changed: Whether the operation's result says the change happened (default: always).
    ///   - body: The store operation.
    /// - Returns: The operation's result.
    func committing<T>(
        _ messages: [OutboxMessage], when changed: (T) -> Bool = { _ in true }, _ body: () async throws -> T
    ) async throws -> T {
        let value: T
        do {
            value = try await storage(body)
        } catch {
            // Nothing was written: a retry must not find its notice counted.
            await giveBack(messages)
            throw error
        }
        if changed(value) {
            if !messages.isEmpty { bell.ring() }
        } else {
            await giveBack(messages)
        }
        return value
    }

    /// `committing(_:when:_:)` for an operation whose `Bool` says whether its change happened.
    func committingChange(_ messages: [OutboxMessage], _ body: () async throws -> Bool) async throws -> Bool {
        try await committing(messages, when: { $0 }, body)
    }

    /// Gives back the hourly counts of the notices among `messages` (one per event and address).
    private func giveBack(_ messages: [OutboxMessage]) async {
        var keys: Set<ThrottleKey> = []
        for message in messages where !message.carriesToken {
            keys.insert(ThrottleKey(.notice, message.event + " " + message.recipient))
        }
        for key in keys {
            _ = try? await store.updateThrottleRecord(key) { Self.noticeLimit.returning($0) }
        }
    }

    /// Claims the messages due now for this node's delivery service, opened. A message whose
    /// payload no configured key opens is failed at once (its error says so).
    /// - Parameters:
    ///   - limit: The most to claim.
    ///   - lease: How long the claim holds: a little longer than the send's own timeout.
    /// - Returns: The messages to send.
    /// - Throws: `storageUnavailable`.
    public func claimMessages(limit: Int, lease: Duration) async throws -> [DeliverableMessage] {
        let now = clock()
        let claim = SecretToken.generate(byteCount: 16)
        let leaseUntil = now.addingTimeInterval(Double(lease.components.seconds) + 1)
        let claimed = try await storage {
            try await store.claimMessages(now: now, leaseUntil: leaseUntil, limit: limit, claim: claim)
        }
        var open: [DeliverableMessage] = []
        for entry in claimed {
            do {
                let body = try MessagePayload.open(
                    entry.message.payload, id: entry.message.id, keyring: policy.secondFactorKeyring)
                open.append(DeliverableMessage(entry: entry, body: body))
            } catch {
                _ = try? await store.settleMessage(
                    id: entry.message.id, claim: claim, outcome: .failed(at: now, error: "\(error)"))
                metrics.outboxFailed(entry.message.channel)?.increment()
                logger.error(
                    "outbox message failed: \(error)",
                    metadata: ["id": "\(entry.message.id)", "event": "\(entry.message.event)"])
            }
        }
        return open
    }

    /// Records the outcome of a send: sent, due again after the schedule's next delay, or failed
    /// after the last attempt (`OutboxSchedule`).
    /// - Parameters:
    ///   - message: The message as claimed.
    ///   - failure: Why the send failed (never a payload or token), or `nil` when it was sent.
    /// - Returns: What was recorded, or `nil` when the claim had lapsed or the database refused
    ///   (logged; the lease then makes the message due again).
    @discardableResult
    public func settle(_ message: DeliverableMessage, failure: String?) async -> OutboxOutcome? {
        let now = clock()
        let outcome: OutboxOutcome
        if let failure {
            if let delay = OutboxSchedule(firstDelay: policy.outboxRetryFirst).delay(after: message.attempt) {
                outcome = .retry(at: now.addingTimeInterval(delay), error: failure)
            } else {
                outcome = .failed(at: now, error: failure)
            }
        } else {
            outcome = .sent(at: now)
        }
        let channel = message.entry.message.channel
        do {
            guard let claim = message.entry.claim,
                try await store.settleMessage(id: message.id, claim: claim, outcome: outcome)
            else {
                logger.warning("an outbox claim lapsed before its outcome", metadata: ["id": "\(message.id)"])
                return nil
            }
        } catch {
            logger.error("could not record an outbox outcome", metadata: ["id": "\(message.id)", "error": "\(error)"])
            return nil
        }
        switch outcome {
        case .sent: metrics.outboxSent(channel)?.increment()
        case .failed: metrics.outboxFailed(channel)?.increment()
        case .retry: break
        }
        return outcome
    }

    /// The pending messages: how many, and when the first is due.
    /// - Returns: The count and the earliest due time.
    /// - Throws: `storageUnavailable`.
    public func pendingMessages() async throws -> (count: Int, firstDue: Date?) {
        try await storage { try await store.pendingMessages() }
    }
}
