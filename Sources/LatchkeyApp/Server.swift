import Foundation
import Hummingbird
import LatchkeyCore
import LatchkeyHTTP
import Logging
import Metrics
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
    /// - Throws: When the database cannot be opened or migrated, or the port cannot be bound.
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
        try await ServiceGroup(configuration: configuration).run()
    }
}
