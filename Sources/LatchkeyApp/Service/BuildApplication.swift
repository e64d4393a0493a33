import Foundation
import Hummingbird
import LatchkeyCore
import LatchkeyHTTP
import LatchkeyUI
import Logging
import Metrics
import ServiceLifecycle

/// The application `buildApplication(settings:logger:metrics:)` returns: Hummingbird's
/// `Application` over Latchkey's router.
public typealias LatchkeyApplication = Application<RouterResponder<LatchkeyRequestContext>>

/// Where the application's own counters go and how `/metrics` renders them. The process's
/// metrics system is bootstrapped by the caller (once per process); Hummingbird's request
/// metrics always go to that system.
public struct ApplicationMetrics: Sendable {
    /// The backend of `Auth`'s counters and the bcrypt histogram.
    public var factory: any MetricsFactory
    /// Renders every metric in Prometheus' text format for `/metrics`; `nil` turns the route
    /// (and Hummingbird's request metrics) off.
    public var render: (@Sendable () -> [UInt8])?

    /// Creates the metrics settings.
    /// - Parameters:
    ///   - factory: The backend of `Auth`'s counters.
    ///   - render: Renders `/metrics`, or `nil` for no metrics route.
    public init(factory: any MetricsFactory, render: (@Sendable () -> [UInt8])?) {
        self.factory = factory
        self.render = render
    }
}

/// Builds the whole service from its settings: opens and migrates the database, builds `Auth`
/// with the bcrypt hasher, the router with its middleware, and the application with its services,
/// the outbox's delivery service among them.
///
/// Services stop in the reverse of the order they are added in: the HTTP server first (letting
/// requests in flight finish), then the purge service, the outbox's delivery service (so that the
/// messages of the last requests are still sent), the database's pool, and last the hashing threads.
///
/// The logging and metrics systems are not bootstrapped here: that may happen once per process,
/// and is the caller's (`Server.run()` in the executable, a test's own backend in the tests).
/// - Parameters:
///   - settings: The settings, as `Settings.load(from:)` read them.
///   - logger: The service's logger.
///   - metrics: Where `Auth` counts and how `/metrics` renders.
/// In development without `MFA_ENCRYPTION_KEY` the second-factor key comes from its file
/// (`Settings.resolveDevelopmentSecondFactorKey(logger:)`). The effective security settings are logged
/// once, as `security settings`.
/// - Returns: The application, ready to run (`runService()`) or to test (HummingbirdTesting).
/// - Throws: `ConfigurationError` when the database cannot be opened or migrated, when the
///   development key file cannot be made or read, or when second factors are stored and no
///   configured key opens them; any error of reading the OpenAPI document compiled into the
///   binary.
public func buildApplication(
    settings: Settings,
    logger: Logger,
    metrics: ApplicationMetrics
) async throws -> LatchkeyApplication {
    let database = try Database.open(settings.database, logger: logger)
    try await database.prepare()
    // Once the database opened: a development key file goes beside it.
    var settings = settings
    try settings.resolveDevelopmentSecondFactorKey(logger: logger)
    let hasher = BcryptPasswordHasher(
        cost: settings.bcryptCost, queueTimeout: .seconds(settings.hashQueueTimeout), factory: metrics.factory)
    let auth = try await Auth(
        store: database.store, hasher: hasher, policy: settings.policy,
        metrics: AuthMetrics(factory: metrics.factory), logger: logger)
    // Without a key that opens them, every account with a second factor would be locked out.
    if let problem = try await auth.secondFactorKeyProblem() {
        throw ConfigurationError(problem)
    }
    var options = HTTPOptions(
        secureCookies: settings.secureCookies,
        allowedOrigins: settings.allowedOrigins,
        refuseCrossSite: settings.profile == .production,
        rateLimitPerMinute: settings.rateLimitPerMinute,
        trustedProxies: settings.trustedProxies,
        operations: Operations(
            metrics: settings.metricsEnabled ? metrics.render : nil,
            metricsToken: settings.metricsToken,
            openAPIDocument: try OpenAPIDocument.json()
        ),
        sessionCookieName: settings.sessionCookieName,
        publicOrigin: settings.publicOrigin
    )
    options.sessionCookieDomain = settings.sessionCookieDomain
    options.redirectRule = RedirectRule(
        hosts: settings.allowedRedirectHosts, allowsPlainHTTP: settings.profile != .production)
    if settings.uiEnabled, let publicURL = settings.publicURL { options.loginPageURL = publicURL + "/ui/login" }
    var pageRoutes: [Route] = []
    if settings.uiEnabled {
        let pages = try Pages(
            auth: auth, options: options, production: settings.profile == .production, publicURL: settings.publicURL,
            theme: PageTheme(
                product: settings.uiTitle, logoPath: settings.uiLogoPath,
                templatesDirectory: settings.uiTemplatesDirectory))
        pageRoutes = pages.routes
        options.errorPage = { pages.errorPage($0, for: $1) }
    } else {
        logger.notice("the pages under /ui are off (UI_ENABLED=false, or production without PUBLIC_URL)")
    }
    var app = Application(
        router: buildRouter(auth: auth, options: options, pages: pageRoutes),
        server: .latchkeyHTTP1(timeouts: settings.connectionTimeouts),
        configuration: ApplicationConfiguration(
            address: .hostname(settings.host, port: settings.port),
            serverName: "latchkey"
        ),
        onServerRunning: { [host = settings.host, configuredPort = settings.port] channel in
            // The line a person starting the service looks for: the address to open.
            let port = channel.localAddress?.port ?? configuredPort
            logger.notice("listening", metadata: ["url": "\(Settings.url(host: host, port: port))"])
        },
        logger: logger
    )
    app.addServices(HasherShutdownService(hasher: hasher))
    app.addServices(database.services)
    app.addServices(
        OutboxDelivery(
            auth: auth, senders: try makeSenders(settings: settings, logger: logger), logger: logger,
            factory: metrics.factory))
    app.addServices(PurgeService(auth: auth, interval: settings.purgeInterval, logger: logger))
    app.addServices(EmailConflictReport(auth: auth, logger: logger))
    app.addServices(
        ShutdownLog(logger: logger, timeout: Int(settings.connectionTimeouts.shutdown.nanoseconds / 1_000_000_000)))
    logger.notice("security settings", metadata: settings.securitySummary)
    return app
}

/// The sender of each channel an outbox message may name: the log always, the webhook when one is
/// configured (`Settings.webhook`), mail when `EMAIL_FROM` is set (`Settings.mail`).
/// - Parameters:
///   - settings: The webhook and mail, if any.
///   - logger: Where the log sender writes, and where mail reports its program's errors.
/// - Returns: The senders, by channel.
/// - Throws: `ConfigurationError` naming the file when a mail template or catalog cannot be used.
func makeSenders(settings: Settings, logger: Logger) throws -> [MessageChannel: any MessageSender] {
    var senders: [MessageChannel: any MessageSender] = [.log: LogSender(logger: logger)]
    if let webhook = settings.webhook {
        senders[.webhook] = WebhookSender(url: webhook.url, secret: webhook.secret)
    }
    if let mail = settings.mail, let publicURL = settings.publicURL {
        do {
            let renderer = try MailRenderer(
                theme: PageTheme(product: settings.uiTitle, templatesDirectory: settings.uiTemplatesDirectory),
                publicURL: publicURL)
            senders[.email] = SendmailSender(
                settings: mail, renderer: renderer, domain: URLComponents(string: publicURL)?.host ?? "localhost",
                logger: logger)
        } catch {
            throw ConfigurationError("\(error)")
        }
    }
    return senders
}

/// Shuts the hashing threads down once the services added after it have stopped (it is added
/// first, so it stops last), or when the application fails to start.
struct HasherShutdownService: Service {
    let hasher: BcryptPasswordHasher

    func run() async throws {
        // Returns at graceful shutdown, or throws when the group is cancelled; either way the
        // threads go.
        try? await gracefulShutdown()
        try await hasher.shutdown()
    }
}
