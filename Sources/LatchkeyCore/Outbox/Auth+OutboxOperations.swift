import Foundation

/// What `latchkey outbox retry` did.
public enum OutboxRetry: Sendable, Equatable {
    /// The failed message is due again now, under its own id.
    case requeued
    /// The failed message carried a token: a new token went out in a new message (a new id),
    /// and the old row is gone, so that the old token is never sent.
    case reissued
    /// The message's account is gone, or its token is no longer wanted (the address was verified
    /// meanwhile): the row is gone and nothing is sent.
    case dropped
    /// No failed message has this id.
    case notFailed
}

extension Auth {
    /// The outbox's rows for an operator (`latchkey outbox list`), never a payload.
    /// - Parameters:
    ///   - failedOnly: Only the failed ones; otherwise pending and failed ones.
    ///   - limit: The most rows (default 100).
    /// - Returns: The rows, most recently due first.
    /// - Throws: `storageUnavailable`.
    public func outboxEntries(failedOnly: Bool, limit: Int = 100) async throws -> [OutboxEntry] {
        try await storage { try await store.outboxEntries(status: failedOnly ? .failed : nil, limit: limit) }
    }

    /// Tries a failed message again (`latchkey outbox retry ID`). A notice is due again at once,
    /// with its own id; a token message is not sent again (its token may have been seen where the
    /// send failed, and may have expired): a new token is issued for the same account and
    /// address, in a new message, and the old row goes.
    /// - Parameter id: The message's id.
    /// - Returns: What was done.
    /// - Throws: `storageUnavailable`.
    public func retryMessage(id: String) async throws -> OutboxRetry {
        guard let entry = try await storage({ try await store.outboxEntry(id: id) }), entry.status == .failed else {
            return .notFailed
        }
        let message = entry.message
        guard message.carriesToken else {
            guard try await storage({ try await store.requeueMessage(id: id, now: clock()) }) else { return .notFailed }
            bell.ring()
            return .requeued
        }
        let user = try await message.userID.asyncFlatMap { userID in
            try await storage { try await store.findUser(by: .id(userID)) }
        }
        var reissued = false
        // With `response` delivery no token leaves out of band: the row only goes.
        if let user, policy.tokenDelivery.isOutOfBand {
            let languages = message.language
            switch message.event {
            case "password_reset_requested":
                _ = try await issueResetToken(for: user, sending: true, languages: languages)
                reissued = true
            case "email_verification_requested" where !user.emailVerified && user.email == message.recipient:
                _ = try await issueVerificationToken(for: user, email: user.email, sending: true, languages: languages)
                reissued = true
            case "email_change_requested" where user.email != message.recipient:
                _ = try await issueVerificationToken(
                    for: user, email: message.recipient, sending: true, languages: languages)
                reissued = true
            default:
                break
            }
        }
        _ = try await storage { try await store.deleteMessage(id: id) }
        return reissued ? .reissued : .dropped
    }
}

extension Optional where Wrapped: Sendable {
    /// `flatMap` with an asynchronous transform.
    fileprivate func asyncFlatMap<T>(_ transform: (Wrapped) async throws -> T?) async rethrows -> T? {
        guard let value = self else { return nil }
        return try await transform(value)
    }
}
