import Foundation

extension Auth {
    /// Whether the database answers, for readiness checks.
    /// - Returns: `true` when a trivial query succeeds.
    public func isStorageReady() async -> Bool {
        do {
            try await store.checkAvailable()
            return true
        } catch {
            return false
        }
    }

    /// Removes expired sessions, reset and verification tokens, second-factor login tokens (their
    /// owners told, `noticeAbandonedLogins()`), pending claims, quiet throttle records and
    /// activity older than `ACTIVITY_RETENTION` and outbox rows that ended more than
    /// `OUTBOX_RETENTION` days ago, so that the tables stay bounded.
    /// - Returns: What was removed.
    /// - Throws: `storageUnavailable`.
    @discardableResult
    public func purgeExpired() async throws -> PurgeResult {
        let abandoned = try await noticeAbandonedLogins()
        let now = clock()
        let idleCutoff = now.addingTimeInterval(-TimeInterval(policy.sessionIdleTimeout))
        var result = try await storage { try await store.purgeExpired(now: now, idleCutoff: idleCutoff) }
        result.loginChallenges += abandoned
        let memory = max(
            policy.loginThrottle.memory, policy.resetTokenThrottle.memory, policy.secondFactorThrottle.memory,
            policy.resetRequestLimit.window, policy.verificationRequestLimit.window, Self.noticeLimit.window)
        let quietSince = now.addingTimeInterval(-TimeInterval(memory))
        result.throttles = try await storage { try await store.purgeThrottles(lastBefore: quietSince, now: now) }
        let kept = now.addingTimeInterval(-TimeInterval(policy.activityRetentionDays) * 86_400)
        result.activity = try await storage { try await store.purgeActivity(before: kept) }
        let ended = now.addingTimeInterval(-TimeInterval(policy.outboxRetentionDays) * 86_400)
        result.messages = try await storage { try await store.purgeMessages(endedBefore: ended) }
        return result
    }
}
