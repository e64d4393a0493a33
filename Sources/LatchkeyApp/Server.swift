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

extension Server {
    /// The notifier for account events: the webhook when one is configured for reset tokens (or,
    /// in `response` mode, for registration attempts), the log otherwise.
    func makeNotifier(logger: Logger) -> (any AccountNotifier, (any Service)?) {
        let delivery = settings.policy.resetTokenDelivery
        if let webhook = settings.webhook, delivery != .log {
            let notifier = WebhookNotifier(url: webhook.url, secret: webhook.secret, logger: logger)
            return (notifier, notifier)
        }
        return (LogNotifier(logger: logger), nil)
    }

    /// The effective security settings, for one start-up log line; no secrets.
    var securitySummary: Logger.Metadata {
        let policy = settings.policy
        return [
            "profile": "\(settings.profile.rawValue)",
            "secure_cookies": "\(settings.secureCookies)",
            "password_min_length": "\(policy.passwordMinLength)",
            "common_passwords_refused": "\(CommonPasswords.count)",
            "bcrypt_cost": "\(settings.bcryptCost)",
            "reset_token_delivery": "\(policy.resetTokenDelivery.rawValue)",
            "webhook": "\(settings.webhook.map { URLComponents(string: $0.url)?.host ?? "?" } ?? "none")",
            "conceal_existing_accounts": "\(policy.concealExistingAccounts)",
            "cross_site_refused": "\(settings.profile == .production)",
            "allowed_origins":
                "\(settings.allowedOrigins.isEmpty ? "none" : settings.allowedOrigins.joined(separator: " "))",
            "login_throttle":
                "\(policy.loginThrottle.maxFailures) then \(policy.loginThrottle.firstWait)-\(policy.loginThrottle.maxWait)s",
            "reset_token_throttle":
                "\(policy.resetTokenThrottle.maxFailures) then \(policy.resetTokenThrottle.firstWait)-\(policy.resetTokenThrottle.maxWait)s",
            "reset_requests_per_hour": "\(policy.resetRequestLimit.maxRequests)",
            "rate_limit_per_ip_per_minute":
                "\(settings.rateLimitPerMinute == 0 ? "off" : "\(settings.rateLimitPerMinute)")",
            "trusted_proxies":
                "\(settings.trustedProxies.isEmpty ? "none" : settings.trustedProxies.map(\.description).joined(separator: " "))",
            "session_lifetime": "\(policy.sessionLifetime)",
            "session_idle_timeout": "\(policy.sessionIdleTimeout)",
            "metrics_token": "\(settings.metricsToken == nil ? "none (open)" : "set")",
        ]
    }
}

/// The opened database: the store `Auth` uses and what the composition root needs around it.
public enum Database: Sendable {
    /// An SQLite file or memory database, migrated when opened.
    case sqlite(SQLiteStore)
    /// A PostgreSQL database, whose pool runs as a service.
    case postgres(PostgresStore)

    /// The store.
    public var store: any AuthStore {
        switch self {
        case .sqlite(let store): store
        case .postgres(let store): store
        }
    }

    /// The services the database needs running (PostgreSQL's connection pool).
    var services: [any Service] {
        switch self {
        case .sqlite: []
        case .postgres(let store): [store]
        }
    }

    /// Runs `body` with the database's services running (PostgreSQL's pool), then stops them.
    /// - Parameter body: The work.
    /// - Returns: What `body` returns.
    /// - Throws: What `body` throws.
    func withRunning<T: Sendable>(_ body: @Sendable () async throws -> T) async throws -> T {
        switch self {
        case .sqlite: try await body()
        case .postgres(let store): try await store.withRunning(body)
        }
    }

    /// Brings the schema up to date.
    /// - Returns: Every applied migration, oldest first.
    /// - Throws: `ConfigurationError` with a one-line reason when the database cannot be migrated.
    @discardableResult
    func prepare() async throws -> [String] {
        switch self {
        case .sqlite(let store):
            return try store.appliedMigrations()
        case .postgres(let store):
            do {
                return try await store.migrate(timeout: .seconds(10))
            } catch {
                throw ConfigurationError(
                    "cannot migrate the PostgreSQL database \(store.configuration.redactedDescription): \(error)")
            }
        }
    }

}

/// Removes expired sessions and reset tokens at start-up and then every `interval` seconds,
/// so that the tables stay bounded.
struct PurgeService: Service {
    let auth: Auth
    let interval: Int
    let logger: Logger

    func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                do {
                    let result = try await auth.purgeExpired()
                    if result.sessions > 0 || result.resetTokens > 0 || result.throttles > 0 {
                        logger.info(
                            "purged expired rows",
                            metadata: [
                                "sessions": "\(result.sessions)", "reset_tokens": "\(result.resetTokens)",
                                "throttles": "\(result.throttles)",
                            ]
                        )
                    }
                } catch {
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
