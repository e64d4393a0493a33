import ArgumentParser
import Hummingbird
import LatchkeyCore
import LatchkeyHTTP
import LatchkeySQLite
import Logging
import ServiceLifecycle

/// `latchkey serve`: runs the HTTP service until SIGTERM or SIGINT.
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Run the HTTP service (migrating the database first).",
        discussion: "Each option overrides its environment variable, which overrides a .env file."
    )

    @Option(name: .long, help: "The profile: development or production (LATCHKEY_ENV; default development).")
    var env: String?

    @Option(name: .long, help: "The address to listen on (HOST; default 0.0.0.0).")
    var hostname: String?

    @Option(name: .long, help: "The port to listen on (PORT; default 5000).")
    var port: String?

    @Option(name: .customLong("bcrypt-cost"), help: "The bcrypt cost, 4 to 31 (BCRYPT_COST; default 12).")
    var bcryptCost: String?

    @Option(name: .customLong("password-min-length"), help: "The shortest password (PASSWORD_MIN_LENGTH; default 1).")
    var passwordMinLength: String?

    @Option(name: .customLong("session-lifetime"), help: "Absolute session lifetime, seconds (SESSION_LIFETIME).")
    var sessionLifetime: String?

    @Option(name: .customLong("session-idle-timeout"), help: "Session idle timeout, seconds (SESSION_IDLE_TIMEOUT).")
    var sessionIdleTimeout: String?

    @Option(name: .customLong("session-cookie-secure"), help: "true or false (SESSION_COOKIE_SECURE; default false).")
    var sessionCookieSecure: String?

    @Option(name: .customLong("reset-token-ttl"), help: "Reset token lifetime, seconds (RESET_TOKEN_TTL).")
    var resetTokenTTL: String?

    @Option(name: .customLong("purge-interval"), help: "Seconds between purges (PURGE_INTERVAL; default 3600).")
    var purgeInterval: String?

    @Option(name: .customLong("log-level"), help: "The log level (LOG_LEVEL; default info).")
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
