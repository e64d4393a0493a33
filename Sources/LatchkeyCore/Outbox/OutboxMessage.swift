import Foundation

/// The way a message leaves the service: each outbox row is one message on one channel.
public enum MessageChannel: String, Sendable, CaseIterable {
    /// Written to the service log (`TOKEN_DELIVERY=log`, or no webhook).
    case log
    /// POSTed to `WEBHOOK_URL`, signed (Standard Webhooks).
    case webhook
    /// Mailed to the address it is about, through the system's mailer (`SENDMAIL_PATH`).
    case email
}

/// A message Core writes into the outbox, in the same store operation as the change it reports
/// (or alone, for an event that changes nothing, such as an attempt to register a taken
/// address): a change never commits without its message, nor a message without its change.
public struct OutboxMessage: Sendable, Equatable {
    /// The message's id, `msg_` and 22 random base64url characters: the same on every attempt
    /// (the webhook's `webhook-id`), so that a receiver can drop a duplicate.
    public let id: String
    /// How it leaves.
    public let channel: MessageChannel
    /// The event's name (`AccountEvent.name`).
    public let event: String
    /// The canonical address the event is about.
    public let recipient: String
    /// The account, when there is one (`nil` for an address without an account); kept after the
    /// account goes, so that the notice of a deletion is still sent.
    public let userID: Int64?
    /// Whether the payload holds a token (`AccountEvent.carriesToken`).
    public let carriesToken: Bool
    /// The event's JSON, sealed (`MessagePayload`).
    public let payload: Data
    /// The language of the request that caused it (a BCP 47 tag), when known.
    public let language: String?
    /// When it was written; it is first due then.
    public let createdAt: Date

    /// Creates a message.
    /// - Parameters:
    ///   - id: The id (`OutboxMessage.newID()`).
    ///   - channel: How it leaves.
    ///   - event: The event's name.
    ///   - recipient: The canonical address.
    ///   - userID: The account, if any.
    ///   - carriesToken: Whether the payload holds a token.
    ///   - payload: The sealed payload.
    ///   - language: The language, if known.
    ///   - createdAt: When it was written.
    public init(
        id: String, channel: MessageChannel, event: String, recipient: String, userID: Int64?, carriesToken: Bool,
        payload: Data, language: String? = nil, createdAt: Date
    ) {
        self.id = id
        self.channel = channel
        self.event = event
        self.recipient = recipient
        self.userID = userID
        self.carriesToken = carriesToken
        self.payload = payload
        self.language = language
        self.createdAt = createdAt
    }

    /// A new message id: `msg_` and 16 random bytes in unpadded base64url (22 characters).
    public static func newID() -> String {
        "msg_" + SecretToken.generate(byteCount: 16)
    }
}

/// Where an outbox row stands.
public enum OutboxStatus: String, Sendable, CaseIterable {
    /// Not sent yet: due at `nextAttemptAt` (while claimed, that is when its lease ends).
    case pending
    /// Sent; its payload is erased.
    case sent
    /// Given up after the last retry (`OutboxSchedule`); a token message's payload is erased.
    case failed
}

/// An outbox row as stored.
public struct OutboxEntry: Sendable, Equatable {
    /// The message as written.
    public var message: OutboxMessage
    /// Where it stands.
    public var status: OutboxStatus
    /// The attempts claimed so far (a claim counts, so that a node that dies while sending
    /// still uses up an attempt).
    public var attempts: Int
    /// When it is next due (pending), or when it was sent or given up.
    public var nextAttemptAt: Date
    /// Why the last attempt failed (never a payload or a token); `nil` before any failure.
    public var lastError: String?
    /// The claim that holds it now, or held it last: a random text that only its claimer knows,
    /// so that a claimer whose lease ran out cannot record the outcome of another's attempt.
    public var claim: String?

    /// Creates an entry.
    /// - Parameters:
    ///   - message: The message (its payload empty when erased).
    ///   - status: Where it stands.
    ///   - attempts: The attempts so far.
    ///   - nextAttemptAt: When it is next due, or when it ended.
    ///   - lastError: The last failure.
    ///   - claim: The current claim.
    public init(
        message: OutboxMessage, status: OutboxStatus, attempts: Int, nextAttemptAt: Date, lastError: String?,
        claim: String?
    ) {
        self.message = message
        self.status = status
        self.attempts = attempts
        self.nextAttemptAt = nextAttemptAt
        self.lastError = lastError
        self.claim = claim
    }
}

/// What became of one claimed attempt.
public enum OutboxOutcome: Sendable, Equatable {
    /// Sent at the time given: the row is `sent` and its payload erased.
    case sent(at: Date)
    /// Failed; due again at `at`.
    case retry(at: Date, error: String)
    /// Failed for the last time at `at`: the row is `failed` (a token message's payload erased).
    case failed(at: Date, error: String)
}
