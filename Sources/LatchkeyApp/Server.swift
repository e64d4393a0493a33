import Foundation
import Hummingbird
import LatchkeyCore
import LatchkeyHTTP
import LatchkeyPostgres
import LatchkeySQLite
import Logging
import ServiceLifecycle

/// The composition root: opens the database, builds `Auth`, hands it to the HTTP layer and
/// runs everything under swift-service-lifecycle until SIGTERM or SIGINT.
public struct Server: Sendable {
    /// The settings read at start-up.
    public let settings: Settings

    /// Creates the server.
    /// - Parameter settings: The settings read at start-up.
    public init(settings: Settings) {
        self.settings = settings
    }

    /// Opens the configured database. SQLite is migrated here; PostgreSQL by `Database.prepare()`.
    /// - Parameters:
    ///   - location: The database to open.
    ///   - logger: Where the PostgreSQL store reports connection trouble.
    /// - Returns: The opened database.
    /// - Throws: `ConfigurationError` with a one-line reason when it cannot be opened.
    public static func openDatabase(_ location: DatabaseLocation, logger: Logger) throws -> Database {
        switch location {
        case .sqlite(let sqlite):
            do {
                return .sqlite(try SQLiteStore(location: sqlite))
            } catch {
                let name: String
                switch sqlite {
                case .file(let path): name = path
                case .memory: name = ":memory:"
                }
                throw ConfigurationError("cannot open the SQLite database \(name): \(error)")
            }
        case .postgres(let configuration):
            var logger = logger
            logger[metadataKey: "database"] = "\(configuration.redactedDescription)"
            return .postgres(PostgresStore(configuration: configuration, logger: logger))
        }
    }

    /// Runs the service until a shutdown signal, then lets in-flight requests finish.
    /// - Throws: When the database cannot be opened or migrated, or the port cannot be bound.
    public func run() async throws {
        let registry = Observability.bootstrap(format: settings.logFormat, level: settings.logLevel)
        var logger = Logger(label: "latchkey")
        logger.logLevel = settings.logLevel
        let database = try Self.openDatabase(settings.database, logger: logger)
        try await database.prepare()
        let openAPI = try OpenAPIDocument.json()
        let hasher = BcryptPasswordHasher(cost: settings.bcryptCost)
        let (notifier, notifierService) = makeNotifier(logger: logger)
        let auth = try await Auth(
            store: database.store, hasher: hasher, policy: settings.policy, notifier: notifier, logger: logger)
        let options = HTTPOptions(
            secureCookies: settings.secureCookies,
            allowedOrigins: settings.allowedOrigins,
            refuseCrossSite: settings.profile == .production,
            rateLimitPerMinute: settings.rateLimitPerMinute,
            trustedProxies: settings.trustedProxies,
            operations: Operations(
                metrics: { registry.emitToBuffer() },
                metricsToken: settings.metricsToken,
                openAPIDocument: openAPI
            )
        )
        let router = buildRouter(auth: auth, options: options)
        logger.notice("security settings", metadata: securitySummary)
        var app = Application(
            router: router,
            configuration: ApplicationConfiguration(
                address: .hostname(settings.host, port: settings.port),
                serverName: "latchkey"
            ),
            logger: logger
        )
        // Services stop in the reverse of this order: the server first (letting in-flight
        // requests finish), the database last.
        app.addServices(database.services)
        if let notifierService {
            // Stops after the server, so that events from the last requests are still sent.
            app.addServices(notifierService)
        }
        app.addServices(PurgeService(auth: auth, interval: settings.purgeInterval, logger: logger))
        do {
            try await app.runService()
        } catch {
            try? await hasher.shutdown()
            throw error
        }
        try await hasher.shutdown()
    }
}
