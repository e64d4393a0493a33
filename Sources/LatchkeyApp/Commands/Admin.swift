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

    /// Opens and migrates the database, builds `Auth` on it, and runs `body`. The account events
    /// `body` causes are written to the outbox, which a running server delivers (within a second),
    /// or the next one to start.
    /// - Parameters:
    ///   - database: The database options.
    ///   - body: The work.
    static func withAuth<T: Sendable>(
        _ database: DatabaseOptions,
        _ body: @escaping @Sendable (Auth, Database) async throws -> T
    ) async throws -> T {
        var settings = try await settings(database)
        let logger = logger()
        let opened = try Database.open(settings.database, logger: logger)
        try await opened.prepare()
        // The key that seals the outbox's payloads, as the server reads it.
        try settings.resolveDevelopmentSecondFactorKey(logger: logger)
        let policy = settings.policy
        let hasher = BcryptPasswordHasher(cost: settings.bcryptCost, threads: 1)
        do {
            let result = try await opened.withRunning {
                let auth = try await Auth(
                    store: opened.store, hasher: hasher, policy: policy,
                    metrics: AuthMetrics(factory: NOOPMetricsHandler.instance), logger: logger)
                return try await body(auth, opened)
            }
            try await hasher.shutdown()
            return result
        } catch {
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
