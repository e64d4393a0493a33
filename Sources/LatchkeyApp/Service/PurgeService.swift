import Foundation
import Hummingbird
import LatchkeyCore
import LatchkeyPostgres
import LatchkeySQLite
import Logging
import ServiceLifecycle

/// Removes expired sessions and reset tokens at start-up and then every `interval` seconds,
/// so that the tables stay bounded; between purges, every `sweep` seconds (30), it takes the login
/// tokens that expired without a code and tells their owners (`Auth.noticeAbandonedLogins()`), so
/// that the notice goes out within `MFA_LOGIN_TOKEN_TTL` + 60 seconds of the password step.
struct PurgeService: Service {
    let auth: Auth
    let interval: Int
    let logger: Logger
    /// Seconds between two looks for abandoned login tokens.
    var sweep = 30
    /// Called after each pass with what it removed (or `nil` when it failed): for tests that
    /// check what a pass did without waiting a fixed time.
    var onPass: (@Sendable (PurgeResult?) -> Void)? = nil

    func run() async throws {
        await cancelWhenGracefulShutdown {
            let clock = ContinuousClock()
            var lastPurge: ContinuousClock.Instant?
            while !Task.isCancelled {
                if let lastPurge, clock.now - lastPurge < .seconds(interval) {
                    do {
                        try await auth.noticeAbandonedLogins()
                    } catch {
                        logger.warning(
                            "looking for abandoned logins failed; will retry", metadata: ["error": "\(error)"])
                    }
                } else {
                    lastPurge = clock.now
                    await purge()
                }
                do {
                    try await Task.sleep(for: .seconds(min(interval, sweep)))
                } catch {
                    return
                }
            }
        }
    }

    /// One purge pass, logged when it removed anything.
    private func purge() async {
        do {
            let result = try await auth.purgeExpired()
            onPass?(result)
            if result.sessions > 0 || result.resetTokens > 0 || result.throttles > 0 || result.activity > 0
                || result.verificationTokens > 0 || result.loginChallenges > 0 || result.pendingClaims > 0
            {
                logger.info(
                    "purged expired rows",
                    metadata: [
                        "sessions": "\(result.sessions)", "reset_tokens": "\(result.resetTokens)",
                        "throttles": "\(result.throttles)", "activity": "\(result.activity)",
                        "verification_tokens": "\(result.verificationTokens)",
                        "mfa_tokens": "\(result.loginChallenges)", "pending_claims": "\(result.pendingClaims)",
                    ]
                )
            }
        } catch {
            onPass?(nil)
            logger.warning("purge failed; will retry", metadata: ["error": "\(error)"])
        }
    }
}
