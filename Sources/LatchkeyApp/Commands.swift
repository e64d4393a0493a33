import ArgumentParser
import Hummingbird
import LatchkeyCore
import LatchkeyHTTP
import LatchkeySQLite
import Logging
import ServiceLifecycle

/// The `latchkey` command line.
public struct LatchkeyCommand: AsyncParsableCommand {
    /// The command's description and subcommands.
    public static let configuration = CommandConfiguration(
        commandName: "latchkey",
        abstract: "A user authentication service: register, log in, sessions, profile, logout, password reset.",
        subcommands: [ServeCommand.self, MigrateCommand.self],
        defaultSubcommand: nil
    )

    /// Creates the command (for the argument parser).
    public init() {}
}

/// The options every subcommand that opens the database shares.
struct DatabaseOptions: ParsableArguments {
    @Option(name: .customLong("database-url"), help: "The database (overrides DATABASE_URL).")
    var databaseURL: String?

    var flags: [Settings.Key: String] {
        var flags: [Settings.Key: String] = [:]
        flags[.databaseURL] = databaseURL
        return flags
    }
}

/// `latchkey serve`: runs the HTTP service until SIGTERM or SIGINT.
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Run the HTTP service (migrating the database first)."
    )

    @Option(name: .long, help: "The address to listen on (overrides HOST; default 0.0.0.0).")
    var hostname: String?

    @Option(name: .long, help: "The port to listen on (overrides PORT; default 5000).")
    var port: Int?

    @Option(name: .customLong("bcrypt-cost"), help: "The bcrypt cost, 4 to 31 (overrides BCRYPT_COST; default 12).")
    var bcryptCost: Int?

    @OptionGroup var database: DatabaseOptions

    func run() async throws {
        var flags = database.flags
        flags[.host] = hostname
        flags[.port] = port.map(String.init)
        flags[.bcryptCost] = bcryptCost.map(String.init)
        let settings = try Settings.load(from: await Settings.reader(flags: flags))
        try await Server(settings: settings).run()
    }
}

/// `latchkey migrate`: brings the database schema up to date and lists the migrations.
struct MigrateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "migrate",
        abstract: "Bring the database schema up to date (idempotent; never drops data)."
    )

    @OptionGroup var database: DatabaseOptions

    func run() async throws {
        let settings = try Settings.load(from: await Settings.reader(flags: database.flags))
        let store = try Server.openStore(settings.database)
        for migration in try store.appliedMigrations() {
            print("applied\t\(migration)")
        }
    }
}
