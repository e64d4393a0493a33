import Foundation
import Hummingbird
import LatchkeyCore
import LatchkeyPostgres
import LatchkeySQLite
import Logging
import ServiceLifecycle

/// The opened database: the store `Auth` uses and what the composition root needs around it.
public enum Database: Sendable {
    /// An SQLite file or memory database, migrated when opened.
    case sqlite(SQLiteStore)
    /// A PostgreSQL database, whose pool runs as a service.
    case postgres(PostgresStore)

    /// Opens the configured database. SQLite is migrated here; PostgreSQL by `Database.prepare()`.
    /// - Parameters:
    ///   - location: The database to open.
    ///   - logger: Where the PostgreSQL store reports connection trouble.
    /// - Returns: The opened database.
    /// - Throws: `ConfigurationError` with a one-line reason when it cannot be opened.
    public static func open(_ location: DatabaseLocation, logger: Logger) throws -> Database {
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

    /// The store, with its operator interface (admin commands and benchmark seeding use it).
    public var store: any AdminStore {
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

    /// Brings the schema up to date. On PostgreSQL the database must answer within 10 seconds;
    /// a pending migration with a data step (rewriting stored rows) is then waited for however
    /// long it takes, and a node that finds another migrating waits on the lock for it.
    /// - Returns: Every applied migration, oldest first.
    /// - Throws: `ConfigurationError` with a one-line reason when the database cannot be migrated.
    @discardableResult
    func prepare() async throws -> [String] {
        switch self {
        case .sqlite(let store):
            return try store.appliedMigrations()
        case .postgres(let store):
            do {
                let pending = try await store.pendingMigrations()
                let rewritesRows = pending.contains { PostgresStore.hasDataStep($0) }
                return try await store.migrate(timeout: rewritesRows ? .seconds(24 * 3600) : .seconds(10))
            } catch {
                throw ConfigurationError(
                    "cannot migrate the PostgreSQL database \(store.configuration.redactedDescription): \(error)")
            }
        }
    }

}
