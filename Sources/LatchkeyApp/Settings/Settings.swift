import Configuration
import Foundation
import LatchkeyCore
import LatchkeyHTTP
import LatchkeyPostgres
import Logging
import SystemPackage

/// Everything the executable reads from its configuration, once, at start-up.
public struct Settings: Sendable, Equatable {
    /// The deployment profile.
    public var profile = Profile.development
    /// The webhook, when `WEBHOOK_URL` is set.
    public var webhook: WebhookSettings?
    /// Where mail leaves (`EMAIL_FROM`, `SENDMAIL_PATH`, `SENDMAIL_TIMEOUT`), when it is on.
    public var mail: MailSettings?
    /// The development key file the second-factor key was read from, when it was
    /// (`resolveDevelopmentSecondFactorKey(logger:)`).
    public var secondFactorKeyFile: String?
    /// Origins answered with CORS and accepted across sites (`ALLOWED_ORIGINS`).
    public var allowedOrigins: [String] = []
    /// Requests per client address per minute on the sensitive routes; 0 is off.
    public var rateLimitPerMinute = 0
    /// Proxies whose `X-Forwarded-For` is believed.
    public var trustedProxies: [IPNetwork] = []
    /// The log line format.
    public var logFormat = LogFormat.text
    /// The bearer token `/metrics` requires, if any.
    public var metricsToken: String?
    /// Whether `/metrics` answers at all (`METRICS_ENABLED`); 404 when off.
    public var metricsEnabled = true
    /// The session cookie's `Domain` (`SESSION_COOKIE_DOMAIN`), lowercase, without a leading dot.
    public var sessionCookieDomain: String?
    /// The session cookie's name (`SESSION_COOKIE_NAME`).
    public var sessionCookieName = "session_id"
    /// The service's own origin, from `PUBLIC_URL` (`scheme://host[:port]`), whose
    /// state-changing requests production accepts as same-origin.
    public var publicOrigin: String?
    /// `PUBLIC_URL` itself (`scheme://host[:port][/prefix]`): the pages' links are built from it
    /// alone.
    public var publicURL: String?
    /// Whether the pages under `/ui` are served (`UI_ENABLED`).
    public var uiEnabled = true
    /// The product's name on the pages (`UI_TITLE`).
    public var uiTitle = "Latchkey"
    /// The file of the pages' mark, SVG or PNG (`UI_LOGO_PATH`).
    public var uiLogoPath: String?
    /// The folder whose files replace the pages' own (`UI_TEMPLATES_DIR`).
    public var uiTemplatesDirectory: String?
    /// Where a browser may be sent back to (`ALLOWED_REDIRECT_HOSTS`).
    public var allowedRedirectHosts: [AllowedRedirectHost] = []
    /// The address to listen on: loopback in development, whose profile hands reset tokens to
    /// whoever asks; every interface in production.
    public var host = "127.0.0.1"
    /// The port to listen on.
    public var port = 5000
    /// The database.
    public var database = DatabaseLocation.sqlite(.file(path: "latchkey.sqlite"))
    /// The bcrypt cost.
    public var bcryptCost = 12
    /// How long a request that needs a password hash may wait for a hashing thread
    /// (`HASH_QUEUE_TIMEOUT`), in seconds.
    public var hashQueueTimeout = 2
    /// The highest bcrypt cost `import-flask` imports without `--allow-high-cost`.
    public var importMaxBcryptCost = 14
    /// The rules' tunable values.
    public var policy = AuthPolicy()
    /// Whether the session cookie carries `Secure`.
    public var secureCookies = false
    /// Seconds between two purges of expired sessions and reset tokens.
    public var purgeInterval = 3600
    /// The connections' timeouts (`HTTP_HEADER_TIMEOUT`, `HTTP_BODY_TIMEOUT`,
    /// `HTTP_IDLE_TIMEOUT`, `SHUTDOWN_TIMEOUT`).
    public var connectionTimeouts = ConnectionTimeouts()
    /// The least severe log level written.
    public var logLevel = Logger.Level.info

    /// The defaults.
    public init() {}

    /// The production profile's shortest password, in characters: NIST SP 800-63B rev 4,
    /// 3.1.1.2, asks 15 of a password that is the only factor. A lower explicit value (8 at
    /// least) is accepted with a warning in the `security settings` line.
    public static let productionPasswordMinLength = 15

    /// Builds the reader with the documented precedence: flags, then environment variables,
    /// then a `.env` file, then the defaults.
    /// - Parameters:
    ///   - flags: Values given on the command line, by key.
    ///   - environment: The process environment.
    ///   - dotEnvPath: The `.env` file to read when it exists.
    /// - Returns: The reader.
    /// - Throws: `ConfigurationError` when the `.env` file cannot be parsed.
    public static func reader(
        flags: [Key: String],
        environment: [String: String] = ProcessInfo.processInfo.environment,
        dotEnvPath: String = ".env"
    ) async throws -> ConfigReader {
        var values: [AbsoluteConfigKey: ConfigValue] = [:]
        for (key, value) in flags {
            values[AbsoluteConfigKey(key.configKey)] = ConfigValue(.string(value), isSecret: false)
        }
        let dotEnv: EnvironmentVariablesProvider
        do {
            dotEnv = try await EnvironmentVariablesProvider(
                environmentFilePath: FilePath(dotEnvPath), allowMissing: true)
        } catch {
            throw ConfigurationError("\(dotEnvPath): cannot be read: \(error)")
        }
        return ConfigReader(providers: [
            InMemoryProvider(name: "flags", values: values),
            EnvironmentVariablesProvider(environmentVariables: environment),
            dotEnv,
        ])
    }
}
