import Foundation
import LatchkeyCore
import Logging
import PostgresNIO
import ServiceLifecycle
import Synchronization

/// The PostgreSQL implementation of `AuthStore`, on PostgresNIO's pooled `PostgresClient`, for
/// several nodes sharing one database.
///
/// The store is a `Service`: `run()` runs the connection pool, and must be running before any
/// call (`withRunning(_:)` does both for tools and tests). Two things PostgresNIO leaves to its
/// user are built here:
/// - a deadline: a call that cannot get an answer within `PostgresConfiguration.deadline` fails
///   with `StoreError.unavailable` instead of waiting (the pool has no acquire timeout);
/// - a prompt reconnect: after a connection failure the pool backs off for up to a minute, so
///   the store tries a fresh client every `reconnectInterval` and swaps it in once it answers.
public final class PostgresStore: AuthStore, Service {
    /// The settings the store was made with.
    public let configuration: PostgresConfiguration
    let logger: Logger
    let state: Mutex<State>
    let failures: AsyncStream<Void>
    let failureSignal: AsyncStream<Void>.Continuation

    struct State {
        var client: PostgresClient
        var runner: Task<Void, Never>?
        var generation = 0
        var healthy = true
    }

    /// Creates the store; nothing connects until `run()`.
    /// - Parameters:
    ///   - configuration: Where the database is and how to use it.
    ///   - logger: Where connection trouble is reported (never with a secret).
    public init(configuration: PostgresConfiguration, logger: Logger = Logger(label: "latchkey.postgres")) {
        self.configuration = configuration
        self.logger = logger
        self.state = Mutex(State(client: PostgresClient(configuration: configuration.clientConfiguration)))
        (failures, failureSignal) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
    }

    // MARK: Running

    /// Runs the connection pool and the reconnect loop until cancelled or shut down gracefully.
    public func run() async throws {
        let first = state.withLock { $0.client }
        let runner = Task { await first.run() }
        state.withLock { $0.runner = runner }
        await cancelWhenGracefulShutdown {
            await self.superviseConnections()
        }
        let last = state.withLock { state in
            defer { state.runner = nil }
            return state.runner
        }
        last?.cancel()
        await last?.value
    }

    /// Runs `body` while the store runs, then stops the store.
    /// - Parameter body: The work that needs the database.
    /// - Returns: What `body` returns.
    /// - Throws: What `body` throws.
    public func withRunning<T: Sendable>(_ body: @Sendable () async throws -> T) async throws -> T {
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await self.run() }
            do {
                let result = try await body()
                group.cancelAll()
                return result
            } catch {
                group.cancelAll()
                throw error
            }
        }
    }

    /// Returns when the database answers a trivial query within the deadline.
    public func checkAvailable() async throws {
        try await call { client in _ = try await client.query("SELECT 1", logger: self.logger).collect() }
    }

    /// Runs one call on the current client within the deadline and translates its errors. A
    /// connection failure or a missed deadline starts the reconnect loop.
    func call<T: Sendable>(_ body: @escaping @Sendable (PostgresClient) async throws -> T) async throws -> T {
        let (client, generation) = state.withLock { ($0.client, $0.generation) }
        do {
            let result = try await Deadline.run(configuration.deadline) { try await body(client) }
            state.withLock { state in
                if state.generation == generation { state.healthy = true }
            }
            return result
        } catch {
            let (storeError, connectionLost) = Self.translate(error)
            if connectionLost {
                // A failure on a client that has been replaced says nothing about the new one.
                let wasHealthy = state.withLock { state in
                    guard state.generation == generation else { return false }
                    defer { state.healthy = false }
                    return state.healthy
                }
                if wasHealthy {
                    logger.warning("PostgreSQL is not answering", metadata: ["error": "\(storeError)"])
                    failureSignal.yield()
                }
            }
            throw storeError
        }
    }

    /// Runs `body` in one transaction on one connection, within the deadline.
    func transaction<T: Sendable>(
        _ body: @escaping @Sendable (PostgresConnection) async throws -> T
    ) async throws -> T {
        let logger = self.logger
        return try await call { client in
            try await client.withTransaction(logger: logger) { connection in try await body(connection) }
        }
    }

    /// Runs `body` on a client of its own, without the request path's deadline and statement
    /// timeout: for migrations and bulk work, which may take longer than a request. It needs no
    /// `run()`.
    func withOwnClient<T: Sendable>(_ body: (PostgresClient) async throws -> T) async throws -> T {
        let client = PostgresClient(configuration: configuration.migrationClientConfiguration)
        let runner = Task { await client.run() }
        defer { runner.cancel() }
        do {
            return try await body(client)
        } catch {
            throw Self.translate(error).error
        }
    }
}
