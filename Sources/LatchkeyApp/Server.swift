import Foundation
import Hummingbird
import LatchkeyCore
import LatchkeyHTTP
import Logging
import Metrics

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
    /// it until a shutdown signal, then lets in-flight requests finish.
    /// - Throws: When the database cannot be opened or migrated, or the port cannot be bound.
    public func run() async throws {
        let registry = Observability.bootstrap(format: settings.logFormat, level: settings.logLevel)
        var logger = Logger(label: "latchkey")
        logger.logLevel = settings.logLevel
        let app = try await buildApplication(
            settings: settings, logger: logger,
            metrics: ApplicationMetrics(factory: MetricsSystem.factory, render: { registry.emitToBuffer() }))
        logger.notice("security settings", metadata: settings.securitySummary)
        try await app.runService()
    }
}
