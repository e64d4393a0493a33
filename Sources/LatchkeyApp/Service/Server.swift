import Foundation
import Hummingbird
import LatchkeyCore
import LatchkeyHTTP
import Logging
import Metrics
import NIOCore
import ServiceLifecycle

/// The composition root's entry: sets up the process (logging, metrics), builds the
/// application with `buildApplication(settings:logger:metrics:)`, and runs it under
/// swift-service-lifecycle until SIGTERM or SIGINT.
public struct Server: Sendable {
    /// The settings read at start-up.
    public let settings: Settings

    /// Creates the server.
    /// - Parameter settings: The settings read at start-up.
    public init(settings: Settings) {
        self.settings = settings
    }

    /// Bootstraps logging and metrics (once per process), builds the application, and runs
    /// it until a shutdown signal (SIGTERM or SIGINT), then lets in-flight requests finish
    /// within `SHUTDOWN_TIMEOUT`: connections still open then are closed, and services still
    /// stopping a second later are cancelled, so that the process exits in that time whatever
    /// its clients (or a webhook receiver) do.
    /// - Throws: When the database cannot be opened or migrated; `CommandFailure` (one line)
    ///   when the port is in use; when the address cannot be bound otherwise.
    public func run() async throws {
        let registry = Observability.bootstrap(format: settings.logFormat, level: settings.logLevel)
        var logger = Logger(label: "latchkey")
        logger.logLevel = settings.logLevel
        let app = try await buildApplication(
            settings: settings, logger: logger,
            metrics: ApplicationMetrics(factory: MetricsSystem.factory, render: { registry.emitToBuffer() }))
        let shutdown = settings.connectionTimeouts.shutdown
        var configuration = ServiceGroupConfiguration(
            services: [app], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
        configuration.maximumGracefulShutdownDuration = .nanoseconds(shutdown.nanoseconds) + .seconds(1)
        configuration.maximumCancellationDuration = .seconds(2)
        do {
            try await ServiceGroup(configuration: configuration).run()
        } catch let error as IOError where error.errnoCode == EADDRINUSE {
            throw CommandFailure("port \(settings.port) is in use; choose another with --port or PORT")
        }
        logger.notice("stopped")
    }
}

/// Logs the start of a graceful shutdown (SIGTERM or SIGINT), so that an operator watching the
/// log sees why the service is going and how long requests in flight have; `Server.run()` logs
/// its end.
struct ShutdownLog: Service {
    let logger: Logger
    let timeout: Int

    func run() async throws {
        // Returns at graceful shutdown; throws when the group is cancelled (start-up failed).
        try await gracefulShutdown()
        logger.notice("shutting down: requests in flight get \(timeout) s to finish")
    }
}
