import ArgumentParser
import Hummingbird
import LatchkeyCore

/// `latchkey serve`: runs the HTTP service until SIGTERM or SIGINT.
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Run the HTTP service (migrating the database first).",
        discussion: """
            Each option overrides its environment variable, which overrides a .env file. Every setting \
            can be given with --set NAME=VALUE or as an environment variable:

            \(Settings.Key.helpListing)
            """
    )

    /// The settings with an option of their own, and that option's name (without `--`); the
    /// README's configuration table is checked against this list.
    static let dedicatedOptions: [(key: Settings.Key, option: String)] =
        [
            (.profile, "env"), (.host, "hostname"), (.port, "port"), (.bcryptCost, "bcrypt-cost"),
            (.passwordMinLength, "password-min-length"), (.sessionLifetime, "session-lifetime"),
            (.sessionIdleTimeout, "session-idle-timeout"), (.sessionCookieSecure, "session-cookie-secure"),
            (.resetTokenTTL, "reset-token-ttl"), (.purgeInterval, "purge-interval"), (.logLevel, "log-level"),
        ] + DatabaseOptions.dedicatedOptions

    @Option(name: .long, help: ArgumentHelp(Settings.Key.profile.helpLine))
    var env: String?

    @Option(name: .long, help: ArgumentHelp(Settings.Key.host.helpLine))
    var hostname: String?

    @Option(name: .long, help: ArgumentHelp(Settings.Key.port.helpLine))
    var port: String?

    @Option(name: .customLong("bcrypt-cost"), help: ArgumentHelp(Settings.Key.bcryptCost.helpLine))
    var bcryptCost: String?

    @Option(name: .customLong("password-min-length"), help: ArgumentHelp(Settings.Key.passwordMinLength.helpLine))
    var passwordMinLength: String?

    @Option(name: .customLong("session-lifetime"), help: ArgumentHelp(Settings.Key.sessionLifetime.helpLine))
    var sessionLifetime: String?

    @Option(name: .customLong("session-idle-timeout"), help: ArgumentHelp(Settings.Key.sessionIdleTimeout.helpLine))
    var sessionIdleTimeout: String?

    @Option(name: .customLong("session-cookie-secure"), help: ArgumentHelp(Settings.Key.sessionCookieSecure.helpLine))
    var sessionCookieSecure: String?

    @Option(name: .customLong("reset-token-ttl"), help: ArgumentHelp(Settings.Key.resetTokenTTL.helpLine))
    var resetTokenTTL: String?

    @Option(name: .customLong("purge-interval"), help: ArgumentHelp(Settings.Key.purgeInterval.helpLine))
    var purgeInterval: String?

    @Option(name: .customLong("log-level"), help: ArgumentHelp(Settings.Key.logLevel.helpLine))
    var logLevel: String?

    @OptionGroup var database: DatabaseOptions

    @Option(
        name: .customLong("set"),
        help: ArgumentHelp(
            "Any setting, as NAME=VALUE (repeatable); overrides the environment.", valueName: "NAME=VALUE")
    )
    var assignments: [String] = []

    func validate() throws {
        _ = try parsedAssignments()
    }

    /// The `--set` values, by setting.
    func parsedAssignments() throws -> [Settings.Key: String] {
        var values: [Settings.Key: String] = [:]
        for assignment in assignments {
            let parts = assignment.split(separator: "=", maxSplits: 1).map(String.init)
            guard parts.count == 2, let key = Settings.Key(rawValue: parts[0]) else {
                throw ValidationError(
                    "--set \(assignment): expected NAME=VALUE with a setting's name, such as LOG_LEVEL=debug")
            }
            values[key] = parts[1]
        }
        return values
    }

    /// The options given, by setting; values are checked by `Settings.load` like any other source.
    var flags: [Settings.Key: String] {
        var flags = (try? parsedAssignments()) ?? [:]
        let dedicated: [Settings.Key: String?] = [
            .profile: env, .host: hostname, .port: port, .bcryptCost: bcryptCost, .passwordMinLength: passwordMinLength,
            .sessionLifetime: sessionLifetime, .sessionIdleTimeout: sessionIdleTimeout,
            .sessionCookieSecure: sessionCookieSecure, .resetTokenTTL: resetTokenTTL, .purgeInterval: purgeInterval,
            .logLevel: logLevel,
        ]
        for (key, value) in dedicated {
            if let value { flags[key] = value }
        }
        flags.merge(database.flags) { _, flag in flag }
        return flags
    }

    func run() async throws {
        let settings = try Settings.load(from: await Settings.reader(flags: flags))
        try await Server(settings: settings).run()
    }
}
