import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import LatchkeyCore
import LatchkeyPostgres
import LatchkeyTestSupport
import Logging
import Metrics
import NIOCore
import Prometheus
import ServiceLifecycle
import Synchronization
import Testing

@testable import LatchkeyApp

/// The metrics backend of this test process. The metrics system may be bootstrapped once per
/// process, as `Server.run()` does, so every test here shares it.
enum TestMetricsBackend {
    static let registry: PrometheusCollectorRegistry = {
        let registry = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
        return registry
    }()

    static var metrics: ApplicationMetrics {
        let registry = registry
        return ApplicationMetrics(factory: MetricsSystem.factory, render: { registry.emitToBuffer() })
    }
}

@Suite("buildApplication: the wiring of the service")
struct BuildApplicationTests {
    /// Settings as the executable would read them from these variables, on a private in-memory
    /// database and the cheapest bcrypt cost, with a second-factor key (so that no development
    /// key file is made in the working folder) unless `secondFactorKey` is false.
    static func settings(_ variables: [String: String] = [:], secondFactorKey: Bool = true) async throws -> Settings {
        var base = ["DATABASE_URL": "sqlite::memory:", "BCRYPT_COST": "4", "HOST": "127.0.0.1", "PORT": "0"]
        if secondFactorKey {
            base["MFA_ENCRYPTION_KEY"] = Data(repeating: 1, count: 32).base64EncodedString()
        }
        return try Settings.load(
            from: await Settings.reader(
                flags: [:], environment: base.merging(variables) { $1 }, dotEnvPath: "/nonexistent/.env"))
    }

    static func app(_ variables: [String: String] = [:], logger: Logger = CapturedLog().logger)
        async throws -> LatchkeyApplication
    {
        try await buildApplication(
            settings: try await settings(variables), logger: logger, metrics: TestMetricsBackend.metrics)
    }

    static func form(_ text: String) -> (HTTPFields, ByteBuffer) {
        ([.contentType: "application/x-www-form-urlencoded"], ByteBuffer(string: text))
    }

    @Test("the original contract is served: register, log in, profile")
    func servesTheContract() async throws {
        let app = try await Self.app()
        // Live: the outbox's delivery service runs, and writes the message to the log.
        try await app.test(.live) { client in
            let (headers, body) = Self.form("email=ada%40example.com&password=b4l0u")
            try await client.execute(uri: "/users", method: .post, headers: headers, body: body) { response in
                #expect(response.status == .ok)
                #expect(String(buffer: response.body) == #"{"email":"ada@example.com","message":"user created"}"#)
            }
            let cookie = try await client.execute(uri: "/sessions", method: .post, headers: headers, body: body) {
                response in
                #expect(response.status == .ok)
                return try #require(response.headers[.setCookie]?.split(separator: ";").first.map(String.init))
            }
            try await client.execute(uri: "/profile", method: .get, headers: [.cookie: cookie]) { response in
                #expect(response.status == .ok)
                #expect(String(buffer: response.body) == #"{"email":"ada@example.com"}"#)
            }
        }
    }

    @Test("a cross-site refusal still carries the security headers and a request id")
    func crossSiteRefusalHasSecurityHeaders() async throws {
        let app = try await Self.app([
            "LATCHKEY_ENV": "production", "RESET_TOKEN_DELIVERY": "response", "ALLOW_RESET_TOKEN_IN_RESPONSE": "true",
            "METRICS_TOKEN": "metrics-t0ken",
        ])
        try await app.test(.router) { client in
            var (headers, body) = Self.form("email=ada%40example.com&password=correct-horse-9")
            headers[HTTPField.Name("Sec-Fetch-Site")!] = "cross-site"
            try await client.execute(uri: "/users", method: .post, headers: headers, body: body) { response in
                #expect(response.status == .forbidden)
                #expect(response.headers[HTTPField.Name("X-Content-Type-Options")!] == "nosniff")
                #expect(response.headers[.cacheControl] == "no-store")
                #expect(response.headers[HTTPField.Name("X-Request-ID")!]?.isEmpty == false)
                #expect(String(buffer: response.body).contains(#""message""#))
            }
        }
    }

    @Test("a 429 from the per-client limit is counted in the request metrics")
    func rateLimitedRequestsAreCounted() async throws {
        let app = try await Self.app(["RATE_LIMIT_PER_IP_PER_MINUTE": "1"])
        // `.live`: a real server on a free port, so that requests have a peer address to count.
        try await app.test(.live) { client in
            func count429() async throws -> Double {
                try await client.execute(uri: "/metrics", method: .get) { response in
                    #expect(response.status == .ok)
                    let line = String(buffer: response.body).split(separator: "\n").first {
                        $0.hasPrefix("hb_requests{") && $0.contains(#""/sessions""#) && $0.contains(#""429""#)
                            && $0.contains(#""POST""#)
                    }
                    return line.flatMap { $0.split(separator: " ").last }.flatMap { Double($0) } ?? 0
                }
            }
            let before = try await count429()
            let (headers, body) = Self.form("email=ada%40example.com&password=wrong")
            try await client.execute(uri: "/sessions", method: .post, headers: headers, body: body) { response in
                #expect(response.status == .unauthorized)
            }
            try await client.execute(uri: "/sessions", method: .post, headers: headers, body: body) { response in
                #expect(response.status == .tooManyRequests)
                #expect(response.headers[.retryAfter] != nil)
            }
            #expect(try await count429() == before + 1)
        }
    }

    @Test("a CORS preflight from an allowed origin is answered before routing")
    func preflightAnsweredBeforeRouting() async throws {
        let app = try await Self.app(["ALLOWED_ORIGINS": "https://app.example.com"])
        try await app.test(.router) { client in
            // `/profile` has no OPTIONS route: only the CORS middleware can answer this.
            let headers: HTTPFields = [
                .origin: "https://app.example.com", .accessControlRequestMethod: "GET",
            ]
            try await client.execute(uri: "/profile", method: .options, headers: headers) { response in
                #expect(response.status == .noContent || response.status == .ok)
                #expect(response.headers[.accessControlAllowOrigin] == "https://app.example.com")
                #expect(response.headers[.accessControlAllowCredentials] == "true")
                #expect(response.headers[HTTPField.Name("X-Content-Type-Options")!] == "nosniff")
            }
            // Another origin gets no CORS answer: the preflight reaches routing, which has none.
            let other: HTTPFields = [.origin: "https://evil.example", .accessControlRequestMethod: "GET"]
            try await client.execute(uri: "/profile", method: .options, headers: other) { response in
                #expect(response.status == .methodNotAllowed)
                #expect(response.headers[.accessControlAllowOrigin] == nil)
            }
        }
    }

    @Test(
        "account events leave by the webhook when one is configured and tokens do not go to the log",
        arguments: [
            (["RESET_TOKEN_DELIVERY": "response"], false),
            (["RESET_TOKEN_DELIVERY": "log"], false),
            (
                [
                    "RESET_TOKEN_DELIVERY": "log", "WEBHOOK_URL": "http://127.0.0.1:9/hook",
                    "WEBHOOK_SECRET": "0123456789abcdef",
                ], false
            ),
            (
                [
                    "RESET_TOKEN_DELIVERY": "webhook", "WEBHOOK_URL": "http://127.0.0.1:9/hook",
                    "WEBHOOK_SECRET": "0123456789abcdef",
                ], true
            ),
            (
                [
                    "RESET_TOKEN_DELIVERY": "response", "WEBHOOK_URL": "http://127.0.0.1:9/hook",
                    "WEBHOOK_SECRET": "0123456789abcdef",
                ], true
            ),
        ]
    )
    func channelForDeliveryMode(variables: [String: String], webhook: Bool) async throws {
        let settings = try await Self.settings(variables)
        #expect(settings.policy.noticeChannels == [webhook ? .webhook : .log])
        #expect(settings.policy.tokenChannels == [variables["RESET_TOKEN_DELIVERY"] == "webhook" ? .webhook : .log])
        let senders = try makeSenders(settings: settings, logger: CapturedLog().logger)
        #expect(senders[.log] is LogSender)
        #expect((senders[.webhook] as? WebhookSender)?.url == (variables["WEBHOOK_URL"]))
        for sender in senders.values { await sender.shutdown() }
        // The application always runs the outbox's delivery service.
        let app = try await buildApplication(
            settings: settings, logger: CapturedLog().logger, metrics: TestMetricsBackend.metrics)
        #expect(app.services.contains { $0 is OutboxDelivery })
    }

    @Test("with log delivery, a requested reset token reaches the service log")
    func logDeliveryWritesTheToken() async throws {
        let capture = CapturedLog()
        let app = try await Self.app(["RESET_TOKEN_DELIVERY": "log"], logger: capture.logger)
        // Live: the outbox's delivery service runs, and writes the message to the log.
        try await app.test(.live) { client in
            let (headers, body) = Self.form("email=ada%40example.com&password=b4l0u")
            try await client.execute(uri: "/users", method: .post, headers: headers, body: body) { _ in }
            let (resetHeaders, resetBody) = Self.form("email=ada%40example.com")
            try await client.execute(uri: "/reset_password", method: .post, headers: resetHeaders, body: resetBody) {
                response in
                #expect(response.status == .ok)
                #expect(!String(buffer: response.body).contains("reset_token"))
            }
            // The token is issued in the background after the answer, then sent by the delivery
            // service; on a busy machine that may wait a while for a core, so give it up to 10 s.
            let deadline = Date().addingTimeInterval(10)
            while !capture.text.contains("reset_token="), Date() < deadline {
                try await Task.sleep(for: .milliseconds(20))
            }
        }
        #expect(capture.text.contains("email=ada@example.com"))
        #expect(capture.text.contains("reset_token="))
    }

    @Test(
        "the services: hashing threads, the purge service, the shutdown's log line, and the database's pool on PostgreSQL"
    )
    func servicesStarted() async throws {
        let sqlite = try await Self.app()
        #expect(sqlite.services.count == 5)
        #expect(sqlite.services.first is HasherShutdownService)
        #expect(sqlite.services[1] is OutboxDelivery)
        #expect(sqlite.services[2] is PurgeService)
        #expect(sqlite.services[3] is EmailConflictReport)
        #expect(sqlite.services.last is ShutdownLog)
        let purge = try #require(sqlite.services[2] as? PurgeService)
        #expect(purge.interval == 3600)

        guard let url = ProcessInfo.processInfo.environment["LATCHKEY_TEST_POSTGRES_URL"] else {
            #expect(ProcessInfo.processInfo.environment["CI"] != "true", "CI needs LATCHKEY_TEST_POSTGRES_URL")
            return
        }
        let postgres = try await Self.app(["DATABASE_URL": url])
        #expect(postgres.services.count == 6)
        #expect(postgres.services.first is HasherShutdownService)
        #expect(postgres.services[1] is PostgresStore)
        #expect(postgres.services[2] is OutboxDelivery)
        #expect(postgres.services[3] is PurgeService)
    }

    @Test("the application serves on a real port and stops when the test ends")
    func runsAndStops() async throws {
        let app = try await Self.app()
        try await app.test(.live) { client in
            try await client.execute(uri: "/healthz", method: .get) { response in
                #expect(response.status == .ok)
            }
        }
    }
}

@Suite("Start-up report of email conflicts")
struct EmailConflictReportTests {
    @Test("one warning line per unresolved group, naming its accounts")
    func warnsPerGroup() async throws {
        let store = InMemoryStore()
        let nfc = try await store.addUser(email: "l\u{E9}a@example.com", passwordHash: "h", createdAt: Date())
        let nfd = try await store.addUser(email: "le\u{301}a@example.com", passwordHash: "h", createdAt: Date())
        let quoted = try await store.addUser(email: "\"q\"@example.org", passwordHash: "h", createdAt: Date())
        _ = try await store.addUser(email: "bob@example.org", passwordHash: "h", createdAt: Date())
        try await store.canonicaliseEmails()
        let capture = CapturedLog()
        let auth = try await Auth(store: store, hasher: FastHasher(), logger: CapturedLog().logger)
        let report = Task { try await EmailConflictReport(auth: auth, logger: capture.logger).run() }
        // The report runs in the background; on a busy machine it may wait a while for a core.
        let deadline = Date().addingTimeInterval(10)
        while capture.lines.count < 2, Date() < deadline {
            try await Task.sleep(for: .milliseconds(10))
        }
        report.cancel()
        let lines = capture.lines
        #expect(lines.count == 2)
        #expect(
            lines.contains { $0.contains("user_ids=\(nfc.id),\(nfd.id)") && $0.contains("latchkey users conflicts") })
        #expect(lines.contains { $0.contains("user_ids=\(quoted.id)") && $0.contains("canonical=(invalid)") })
    }
}
