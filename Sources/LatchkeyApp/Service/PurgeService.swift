import Foundation
import Hummingbird
import LatchkeyCore
import LatchkeyPostgres
import LatchkeySQLite
import Logging
import ServiceLifecycle

/// Removes expired sessions and reset tokens at start-up and then every `interval` seconds,
/// so that the tables stay bounded.
struct PurgeService: Service {
    let auth: Auth
    let interval: Int
    let logger: Logger
    /// Called after each pass with what it removed (or `nil` when it failed): for tests that
    /// check what a pass did without waiting a fixed time.
    var onPass: (@Sendable (PurgeResult?) -> Void)? = nil

    func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                do {
                    let result = try await auth.purgeExpired()
                    onPass?(result)
                    if result.sessions > 0 || result.resetTokens > 0 || result.throttles > 0 || result.activity > 0
                        || result.verificationTokens > 0 || result.loginChallenges > 0
                    {
                        logger.info(
                            "purged expired rows",
                            metadata: [
                                "sessions": "\(result.sessions)", "reset_tokens": "\(result.resetTokens)",
                                "throttles": "\(result.throttles)", "activity": "\(result.activity)",
                                "verification_tokens": "\(result.verificationTokens)",
                                "mfa_tokens": "\(result.loginChallenges)",
                            ]
                        )
                    }
                } catch {
                    onPass?(nil)
                    logger.warning("purge failed; will retry", metadata: ["error": "\(error)"])
                }
                do {
                    try await Task.sleep(for: .seconds(interval))
                } catch {
                    return
                }
            }
        }
    }
}
