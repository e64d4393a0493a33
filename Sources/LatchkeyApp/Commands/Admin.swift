import ArgumentParser
import Foundation
import LatchkeyCore
import LatchkeyHTTP
import LatchkeyPostgres
import Logging
import Metrics

/// What the operator commands share: the configuration, the migrated database, and `Auth`.
enum Admin {
    static func settings(_ database: DatabaseOptions) async throws -> Settings {
        try Settings.load(from: await Settings.reader(flags: database.flags))
    }

    static func logger() -> Logger {
        var logger = Logger(label: "latchkey")
        logger.logLevel = .warning
        return logger
    }

    /// Opens and migrates the database, builds `Auth` on it, and runs `body`.
    /// - Parameters:
    ///   - database: The database options.
    ///   - notifying: Whether account events reach their owners as the server sends them (the
    ///     webhook, or the log); `body`'s events are delivered before this returns.
    ///   - body: The work.
    static func withAuth<T: Sendable>(
        _ database: DatabaseOptions,
        notifying: Bool = false,
        _ body: @escaping @Sendable (Auth, Database) async throws -> T
    ) async throws -> T {
        let settings = try await settings(database)
        let logger = logger()
        let opened = try Database.open(settings.database, logger: logger)
        try await opened.prepare()
        let hasher = BcryptPasswordHasher(cost: settings.bcryptCost, threads: 1)
        var notifier: (any AccountNotifier)?
        var webhook: WebhookNotifier?
        if notifying {
            // The log notifier writes at notice, which the command line's warning level would drop.
            var noticeLogger = logger
            noticeLogger.logLevel = .notice
            let made = makeNotifier(settings: settings, logger: noticeLogger)
            (notifier, webhook) = (made.0, made.1 as? WebhookNotifier)
        }
        let (eventNotifier, webhookNotifier) = (notifier, webhook)
        let delivery = Task { try await webhookNotifier?.run() }
        do {
            let result = try await opened.withRunning {
                let auth = try await Auth(
                    store: opened.store, hasher: hasher, policy: settings.policy, notifier: eventNotifier,
                    metrics: AuthMetrics(factory: NOOPMetricsHandler.instance), logger: logger)
                return try await body(auth, opened)
            }
            // The events of `body` go out before the command ends, whatever follows.
            webhookNotifier?.finish()
            try? await delivery.value
            try await hasher.shutdown()
            return result
        } catch {
            webhookNotifier?.finish()
            try? await delivery.value
            try? await hasher.shutdown()
            throw failure(error)
        }
    }

    /// A one-line reason for an error of the rules or the store.
    static func failure(_ error: any Error) -> any Error {
        switch error {
        // The same words as the API's error bodies.
        case let error as AuthError: CommandFailure(APIError(error).message)
        default: error
        }
    }
}
