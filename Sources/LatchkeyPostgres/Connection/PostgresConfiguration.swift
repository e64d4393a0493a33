import Foundation
import NIOSSL
import PostgresNIO

/// Where and how to reach PostgreSQL, read from a `postgres://` (or `postgresql://`) URL.
public struct PostgresConfiguration: Sendable, Equatable {
    /// How the connection uses TLS, as libpq's `sslmode` names it.
    public enum TLSMode: String, Sendable, CaseIterable {
        /// Plain TCP.
        case disable
        /// TLS when the server offers it, plain otherwise (the default). The certificate is not verified.
        case prefer
        /// TLS or no connection. The certificate is not verified, as with libpq's `require`.
        case require
        /// TLS with the certificate verified against the system's roots and the host name.
        case verifyFull = "verify-full"
    }

    /// The server's host name or address.
    public var host: String
    /// The server's port.
    public var port: Int
    /// The role to log in as.
    public var username: String
    /// The role's password, if any.
    public var password: String?
    /// The database; `nil` means the role's name.
    public var database: String?
    /// The TLS mode, from `?sslmode=`.
    public var tlsMode: TLSMode
    /// The most connections each node opens (`DATABASE_POOL_SIZE`).
    public var poolSize: Int
    /// How long a request may wait for the database before it fails with `StoreError.unavailable`.
    public var deadline: Duration
    /// How often a store that lost its database tries a fresh connection.
    public var reconnectInterval: Duration

    /// Creates a configuration.
    /// - Parameters:
    ///   - host: The server's host name or address.
    ///   - port: The server's port.
    ///   - username: The role to log in as.
    ///   - password: The role's password.
    ///   - database: The database; `nil` means the role's name.
    ///   - tlsMode: The TLS mode.
    ///   - poolSize: The most connections to open.
    ///   - deadline: How long a request may wait for the database.
    ///   - reconnectInterval: How often to try a fresh connection after a failure.
    public init(
        host: String,
        port: Int = 5432,
        username: String,
        password: String? = nil,
        database: String? = nil,
        tlsMode: TLSMode = .prefer,
        poolSize: Int = 10,
        deadline: Duration = .milliseconds(1500),
        reconnectInterval: Duration = .milliseconds(500)
    ) {
        self.host = host
        self.port = port
        self.username = username
        self.password = password
        self.database = database
        self.tlsMode = tlsMode
        self.poolSize = poolSize
        self.deadline = deadline
        self.reconnectInterval = reconnectInterval
    }

    /// Reads `postgres://user:password@host:port/database?sslmode=MODE`.
    /// - Parameter url: The URL; user, password and database may be percent-encoded.
    /// - Throws: `PostgresConfigurationError` naming what is wrong (never the password).
    public init(url: String) throws(PostgresConfigurationError) {
        guard let components = URLComponents(string: url),
            let scheme = components.scheme?.lowercased(), scheme == "postgres" || scheme == "postgresql"
        else {
            throw PostgresConfigurationError("not a postgres:// URL")
        }
        guard let host = components.host, !host.isEmpty else {
            throw PostgresConfigurationError("the URL names no host")
        }
        guard let user = components.user, !user.isEmpty else {
            throw PostgresConfigurationError("the URL names no user (postgres://USER:PASSWORD@HOST:PORT/DATABASE)")
        }
        let path = components.path.hasPrefix("/") ? String(components.path.dropFirst()) : components.path
        if path.contains("/") {
            throw PostgresConfigurationError("the database name must not contain '/'")
        }
        var tlsMode = TLSMode.prefer
        for item in components.queryItems ?? [] {
            switch item.name {
            case "sslmode":
                guard let value = item.value, let mode = TLSMode(rawValue: value) else {
                    let modes = TLSMode.allCases.map(\.rawValue).joined(separator: ", ")
                    throw PostgresConfigurationError("sslmode must be one of \(modes)")
                }
                tlsMode = mode
            default:
                throw PostgresConfigurationError("unknown URL parameter '\(item.name)' (only sslmode is read)")
            }
        }
        // URLComponents keeps the brackets of an IPv6 literal; the socket wants the address alone.
        let bareHost = host.hasPrefix("[") && host.hasSuffix("]") ? String(host.dropFirst().dropLast()) : host
        self.init(
            host: bareHost,
            port: components.port ?? 5432,
            username: user,
            password: components.password,
            database: path.isEmpty ? nil : path,
            tlsMode: tlsMode
        )
    }

    /// The URL without its password, for logs and messages.
    public var redactedDescription: String {
        "postgres://\(username)@\(host):\(port)/\(database ?? username)?sslmode=\(tlsMode.rawValue)"
    }

    /// PostgresNIO's client configuration for the request path: the server itself cancels a
    /// statement that outlives the deadline, so a write the caller gave up on cannot run on for
    /// long, and a transaction left idle by a vanished node releases its locks.
    var clientConfiguration: PostgresClient.Configuration {
        var configuration = baseClientConfiguration
        let deadlineMilliseconds =
            deadline.components.seconds * 1000 + deadline.components.attoseconds / 1_000_000_000_000_000
        configuration.options.additionalStartupParameters = [
            ("statement_timeout", "\(deadlineMilliseconds)"),
            ("idle_in_transaction_session_timeout", "10000"),
        ]
        return configuration
    }

    /// The client configuration for migrations, whose statements and lock waits may take longer.
    var migrationClientConfiguration: PostgresClient.Configuration {
        var configuration = baseClientConfiguration
        configuration.options.maximumConnections = 1
        return configuration
    }

    private var baseClientConfiguration: PostgresClient.Configuration {
        var tlsConfiguration = TLSConfiguration.makeClientConfiguration()
        if tlsMode != .verifyFull {
            tlsConfiguration.certificateVerification = .none
        }
        let tls: PostgresClient.Configuration.TLS =
            switch tlsMode {
            case .disable: .disable
            case .prefer: .prefer(tlsConfiguration)
            case .require, .verifyFull: .require(tlsConfiguration)
            }
        var configuration = PostgresClient.Configuration(
            host: host, port: port, username: username, password: password, database: database, tls: tls)
        configuration.options.maximumConnections = poolSize
        configuration.options.minimumConnections = 0
        // A connection attempt must not outlive the request that waits for it.
        configuration.options.connectTimeout = deadline
        configuration.options.keepAliveBehavior = .init(frequency: .seconds(15))
        return configuration
    }
}

/// Why a PostgreSQL URL cannot be used.
public struct PostgresConfigurationError: Error, CustomStringConvertible, Equatable {
    /// The reason, one line, without secrets.
    public let description: String

    init(_ description: String) {
        self.description = description
    }
}
