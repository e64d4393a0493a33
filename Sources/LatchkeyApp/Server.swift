import Hummingbird
import LatchkeyCore
import LatchkeyHTTP
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

    /// Opens the configured database, migrating it.
    /// - Parameter location: The database to open.
    /// - Returns: The SQLite store.
    /// - Throws: `ConfigurationError` with a one-line reason when it cannot be opened.
    public static func openStore(_ location: DatabaseLocation) throws -> SQLiteStore {
        switch location {
        case .sqlite(let sqlite):
            do {
                return try SQLiteStore(location: sqlite)
            } catch {
                let name: String
                switch sqlite {
                case .file(let path): name = path
                case .memory: name = ":memory:"
                }
                throw ConfigurationError("cannot open the SQLite database \(name): \(error)")
            }
        }
    }

    /// Runs the service until a shutdown signal, then lets in-flight requests finish.
    /// - Throws: When the database cannot be opened or the port cannot be bound.
    public func run() async throws {
        var logger = Logger(label: "latchkey")
        logger.logLevel = settings.logLevel
        let store = try Self.openStore(settings.database)
        let hasher = BcryptPasswordHasher(cost: settings.bcryptCost)
        let auth = try await Auth(store: store, hasher: hasher, policy: settings.policy, logger: logger)
        let router = buildRouter(auth: auth, options: HTTPOptions(secureCookies: settings.secureCookies))
        var app = Application(
            router: router,
            configuration: ApplicationConfiguration(
                address: .hostname(settings.host, port: settings.port),
                serverName: "latchkey"
            ),
            logger: logger
        )
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
                    if result.sessions > 0 || result.resetTokens > 0 {
                        logger.info(
                            "purged expired rows",
                            metadata: ["sessions": "\(result.sessions)", "reset_tokens": "\(result.resetTokens)"]
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
