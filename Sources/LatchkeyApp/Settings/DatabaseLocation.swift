import Foundation
import LatchkeyCore
import LatchkeyPostgres
import LatchkeySQLite

/// Which database the service uses, from `DATABASE_URL`.
public enum DatabaseLocation: Sendable, Equatable {
    /// An SQLite database (a file, or memory).
    case sqlite(SQLiteStore.Location)
    /// A PostgreSQL database, shared by every node.
    case postgres(PostgresConfiguration)

    /// Parses a `DATABASE_URL`.
    /// - Parameter url: `sqlite://PATH` (relative to the working folder; `sqlite:///abs` is
    ///   absolute), `sqlite::memory:`, or `postgres://USER:PASSWORD@HOST:PORT/DB?sslmode=MODE`
    ///   (also `postgresql://`).
    /// - Throws: `ConfigurationError` for anything else.
    public init(url: String) throws(ConfigurationError) {
        if url == "sqlite::memory:" {
            self = .sqlite(.memory)
            return
        }
        if url.hasPrefix("sqlite://") {
            let path = String(url.dropFirst("sqlite://".count))
            guard !path.isEmpty else {
                throw ConfigurationError("DATABASE_URL: sqlite:// needs a file path, as in sqlite://latchkey.sqlite")
            }
            self = .sqlite(.file(path: path))
            return
        }
        if url.hasPrefix("postgres://") || url.hasPrefix("postgresql://") {
            do {
                self = .postgres(try PostgresConfiguration(url: url))
            } catch {
                // The reason never repeats the URL, which may hold a password.
                throw ConfigurationError("DATABASE_URL: \(error)")
            }
            return
        }
        let scheme = url.split(separator: ":", maxSplits: 1).first.map(String.init) ?? ""
        throw ConfigurationError(
            "DATABASE_URL: scheme '\(scheme)' is not supported (use sqlite://PATH, sqlite::memory: or postgres://...)"
        )
    }
}
