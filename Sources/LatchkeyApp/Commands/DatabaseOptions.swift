import ArgumentParser

/// The options every subcommand that opens the database shares.
struct DatabaseOptions: ParsableArguments {
    /// The settings with an option of their own here, and the option's name (without `--`).
    static let dedicatedOptions: [(key: Settings.Key, option: String)] = [
        (.databaseURL, "database-url"), (.databasePoolSize, "database-pool-size"),
    ]

    @Option(name: .customLong("database-url"), help: ArgumentHelp(Settings.Key.databaseURL.helpLine))
    var databaseURL: String?

    @Option(name: .customLong("database-pool-size"), help: ArgumentHelp(Settings.Key.databasePoolSize.helpLine))
    var databasePoolSize: String?

    var flags: [Settings.Key: String] {
        var flags: [Settings.Key: String] = [:]
        flags[.databaseURL] = databaseURL
        flags[.databasePoolSize] = databasePoolSize
        return flags
    }
}
