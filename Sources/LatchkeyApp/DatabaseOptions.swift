import ArgumentParser
import Hummingbird
import LatchkeyCore
import LatchkeyHTTP
import LatchkeySQLite
import Logging
import ServiceLifecycle

/// The options every subcommand that opens the database shares.
struct DatabaseOptions: ParsableArguments {
    @Option(name: .customLong("database-url"), help: "The database (overrides DATABASE_URL).")
    var databaseURL: String?

    @Option(name: .customLong("database-pool-size"), help: "Most PostgreSQL connections (DATABASE_POOL_SIZE; 10).")
    var databasePoolSize: String?

    var flags: [Settings.Key: String] {
        var flags: [Settings.Key: String] = [:]
        flags[.databaseURL] = databaseURL
        flags[.databasePoolSize] = databasePoolSize
        return flags
    }
}
