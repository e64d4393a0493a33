import Foundation
import LatchkeyCore
import LatchkeyPostgres
import Testing

@testable import LatchkeyApp

@Suite("Configuration")
struct SettingsTests {
    /// Loads settings from the given sources, with a `.env` file holding `dotEnv`.
    func load(
        flags: [Settings.Key: String] = [:],
        environment: [String: String] = [:],
        dotEnv: String? = nil
    ) async throws -> Settings {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
            "latchkey-env-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent(".env").path
        if let dotEnv {
            try dotEnv.write(toFile: path, atomically: true, encoding: .utf8)
        }
        return try Settings.load(from: await Settings.reader(flags: flags, environment: environment, dotEnvPath: path))
    }

    @Test("the defaults are the documented ones")
    func defaults() async throws {
        let settings = try await load()
        // Loopback in development: the profile hands reset tokens to whoever asks.
        #expect(settings.host == "127.0.0.1")
        #expect(settings.port == 5000)
        #expect(settings.database == .sqlite(.file(path: "latchkey.sqlite")))
        #expect(settings.bcryptCost == 12)
        #expect(
            settings.policy
                == AuthPolicy(
                    passwordMinLength: 1, sessionLifetime: 2_592_000, sessionIdleTimeout: 604_800, resetTokenTTL: 3600))
        #expect(settings.secureCookies == false)
    }

    @Test("every variable is read from the environment")
    func environment() async throws {
        let settings = try await load(environment: [
            "HOST": "::1", "PORT": "8080", "DATABASE_URL": "sqlite:///tmp/x.sqlite", "BCRYPT_COST": "10",
            "PASSWORD_MIN_LENGTH": "8", "SESSION_LIFETIME": "3600", "SESSION_IDLE_TIMEOUT": "600",
            "SESSION_COOKIE_SECURE": "true", "RESET_TOKEN_TTL": "900", "PURGE_INTERVAL": "60", "LOG_LEVEL": "debug",
        ])
        #expect(settings.host == "::1")
        #expect(settings.port == 8080)
        #expect(settings.database == .sqlite(.file(path: "/tmp/x.sqlite")))
        #expect(settings.bcryptCost == 10)
        #expect(
            settings.policy
                == AuthPolicy(passwordMinLength: 8, sessionLifetime: 3600, sessionIdleTimeout: 600, resetTokenTTL: 900))
        #expect(settings.secureCookies == true)
        #expect(settings.purgeInterval == 60)
        #expect(settings.logLevel == .debug)
    }

    @Test("flags override the environment, which overrides .env, which overrides the defaults")
    func precedence() async throws {
        let dotEnv = "PORT=1111\nBCRYPT_COST=5\nHOST=10.0.0.1\n"
        let all = try await load(
            flags: [.port: "3333"], environment: ["PORT": "2222", "BCRYPT_COST": "6"], dotEnv: dotEnv)
        #expect(all.port == 3333)
        #expect(all.bcryptCost == 6)
        #expect(all.host == "10.0.0.1")
        let noFlag = try await load(environment: ["PORT": "2222"], dotEnv: dotEnv)
        #expect(noFlag.port == 2222)
        #expect(noFlag.bcryptCost == 5)
        let fileOnly = try await load(dotEnv: dotEnv)
        #expect(fileOnly.port == 1111)
    }

    @Test(
        "invalid values stop start-up with a reason naming the variable",
        arguments: [
            ("BCRYPT_COST", "3"), ("BCRYPT_COST", "32"), ("BCRYPT_COST", "twelve"), ("PORT", "70000"),
            ("PORT", "-1"), ("SESSION_COOKIE_SECURE", "yes"), ("SESSION_LIFETIME", "1.5"),
            ("SESSION_IDLE_TIMEOUT", "0"),
            ("RESET_TOKEN_TTL", ""), ("PASSWORD_MIN_LENGTH", "0"), ("PASSWORD_MIN_LENGTH", "257"),
            ("DATABASE_URL", "mysql://db"), ("DATABASE_URL", "sqlite://"),
            ("DATABASE_URL", "postgres://u:p@h/db?sslmode=on"),
            ("DATABASE_URL", "postgres://h/db"), ("DATABASE_POOL_SIZE", "0"), ("LOG_LEVEL", "loud"),
            ("DATABASE_TIMEOUT", "0"), ("DATABASE_TIMEOUT", "61"), ("DATABASE_TIMEOUT", "nan"),
            ("DATABASE_TIMEOUT", "2s"),
        ]
    )
    func invalid(name: String, value: String) async throws {
        do {
            _ = try await load(environment: [name: value])
            Issue.record("\(name)=\(value) was accepted")
        } catch let error as ConfigurationError {
            #expect(error.description.hasPrefix(name))
            #expect(!error.description.contains("\n"))
        }
    }

    @Test(
        "database URLs",
        arguments: [
            ("sqlite://latchkey.sqlite", DatabaseLocation.sqlite(.file(path: "latchkey.sqlite"))),
            ("sqlite:///tmp/x.sqlite", .sqlite(.file(path: "/tmp/x.sqlite"))),
            ("sqlite://data/users.db", .sqlite(.file(path: "data/users.db"))),
            ("sqlite::memory:", .sqlite(.memory)),
            (
                "postgres://u:p@db:6543/auth?sslmode=disable",
                .postgres(
                    PostgresConfiguration(
                        host: "db", port: 6543, username: "u", password: "p", database: "auth", tlsMode: .disable))
            ),
        ]
    )
    func databaseURL(url: String, expected: DatabaseLocation) throws {
        #expect(try DatabaseLocation(url: url) == expected)
    }

    @Test(
        "DATABASE_POOL_SIZE sizes the PostgreSQL pool, DATABASE_TIMEOUT sets its deadline; a bad PostgreSQL URL never echoes its password"
    )
    func poolSize() async throws {
        let settings = try await load(
            environment: ["DATABASE_URL": "postgresql://u:p@db/auth", "DATABASE_POOL_SIZE": "25"])
        guard case .postgres(let postgres) = settings.database else {
            Issue.record("expected PostgreSQL, got \(settings.database)")
            return
        }
        #expect(postgres.poolSize == 25)
        #expect(postgres.tlsMode == .prefer)
        #expect(postgres.deadline == .milliseconds(1500))
        let patient = try await load(
            environment: ["DATABASE_URL": "postgresql://u:p@db/auth", "DATABASE_TIMEOUT": "30"])
        guard case .postgres(let slow) = patient.database else { return }
        #expect(slow.deadline == .seconds(30))
        let quick = try await load(
            environment: ["DATABASE_URL": "postgresql://u:p@db/auth", "DATABASE_TIMEOUT": "0.25"])
        guard case .postgres(let fast) = quick.database else { return }
        #expect(fast.deadline == .milliseconds(250))
        do {
            _ = try await load(environment: ["DATABASE_URL": "postgres://u:hunter2@db/auth?sslmode=sometimes"])
            Issue.record("a bad sslmode was accepted")
        } catch let error as ConfigurationError {
            #expect(error.description.contains("sslmode"))
            #expect(!error.description.contains("hunter2"))
        }
    }
}

@Suite("Profiles")
struct ProfileTests {
    func load(_ environment: [String: String]) async throws -> Settings {
        try Settings.load(
            from: await Settings.reader(flags: [:], environment: environment, dotEnvPath: "/nonexistent/.env"))
    }

    let webhook = [
        "RESET_TOKEN_DELIVERY": "webhook", "WEBHOOK_URL": "https://hooks.example.com/latchkey",
        "WEBHOOK_SECRET": "0123456789abcdef0123", "MFA_ENCRYPTION_KEY": SecondFactorKeyring.newKey(),
    ]

    @Test("development keeps the original contract")
    func development() async throws {
        let settings = try await load([:])
        #expect(settings.profile == .development)
        #expect(!settings.secureCookies)
        #expect(settings.policy.passwordMinLength == 1)
        #expect(settings.policy.tokenDelivery == .response)
        #expect(!settings.policy.concealExistingAccounts)
        // The original kept sessions across a reset.
        #expect(!settings.policy.resetEndsSessions)
        #expect(settings.securitySummary["reset_ends_sessions"] == "false")
        #expect(try await load(["RESET_ENDS_SESSIONS": "true"]).policy.resetEndsSessions)
    }

    @Test("production ends every session on a reset by default, and warns when told not to")
    func productionResetEndsSessions() async throws {
        let base = ["LATCHKEY_ENV": "production", "METRICS_TOKEN": "metrics-t0ken"].merging(webhook) { a, _ in a }
        let settings = try await load(base)
        #expect(settings.policy.resetEndsSessions)
        #expect(settings.securitySummary["reset_ends_sessions"] == "true")
        let keeping = try await load(base.merging(["RESET_ENDS_SESSIONS": "false"]) { _, b in b })
        #expect(!keeping.policy.resetEndsSessions)
        #expect("\(keeping.securitySummary["reset_ends_sessions"] ?? "")".hasPrefix("false (warning: "))
        await #expect(throws: ConfigurationError.self) {
            _ = try await load(base.merging(["RESET_ENDS_SESSIONS": "sometimes"]) { _, b in b })
        }
    }

    @Test(
        "production: every interface, Secure cookies, 15-character passwords (NIST SP 800-63B rev 4), concealed accounts"
    )
    func production() async throws {
        let settings = try await load(
            ["LATCHKEY_ENV": "production", "METRICS_TOKEN": "metrics-t0ken"].merging(webhook) { a, _ in a })
        #expect(settings.profile == .production)
        #expect(settings.host == "0.0.0.0")
        #expect(settings.secureCookies)
        #expect(settings.policy.passwordMinLength == 15)
        #expect(settings.policy.concealExistingAccounts)
        #expect(settings.securitySummary["password_min_length"] == "15")
        // 8 to 14 is allowed, with a warning in the start-up line; below 8 is refused.
        let weaker = try await load(
            ["LATCHKEY_ENV": "production", "PASSWORD_MIN_LENGTH": "8", "METRICS_TOKEN": "metrics-t0ken"].merging(
                webhook
            ) { a, _ in a })
        #expect(weaker.policy.passwordMinLength == 8)
        #expect("\(weaker.securitySummary["password_min_length"] ?? "")".contains("warning"))
        #expect(settings.policy.tokenDelivery == .webhook)
        #expect(settings.webhook == WebhookSettings(url: webhook["WEBHOOK_URL"]!, secret: webhook["WEBHOOK_SECRET"]!))
        let allowed = try await load([
            "LATCHKEY_ENV": "production", "RESET_TOKEN_DELIVERY": "response", "ALLOW_RESET_TOKEN_IN_RESPONSE": "true",
            "METRICS_TOKEN": "metrics-t0ken",
        ])
        #expect(allowed.policy.tokenDelivery == .response)
    }

    @Test(
        "production refuses to start without a safe reset delivery, or with weakened defaults",
        arguments: [
            ([:], "TOKEN_DELIVERY"),
            (["TOKEN_DELIVERY": "log"], "TOKEN_DELIVERY"),
            (["TOKEN_DELIVERY": "webhook", "RESET_TOKEN_DELIVERY": "response"], "TOKEN_DELIVERY"),
            (["RESET_TOKEN_DELIVERY": "log"], "RESET_TOKEN_DELIVERY"),
            (["RESET_TOKEN_DELIVERY": "response"], "RESET_TOKEN_DELIVERY"),
            (
                ["RESET_TOKEN_DELIVERY": "response", "ALLOW_RESET_TOKEN_IN_RESPONSE": "yes"],
                "ALLOW_RESET_TOKEN_IN_RESPONSE"
            ),
            (["RESET_TOKEN_DELIVERY": "webhook"], "WEBHOOK_URL"),
            (["RESET_TOKEN_DELIVERY": "webhook", "WEBHOOK_URL": "https://h.example.com/"], "WEBHOOK_SECRET"),
            (
                ["RESET_TOKEN_DELIVERY": "webhook", "WEBHOOK_URL": "ftp://h/", "WEBHOOK_SECRET": "0123456789abcdef"],
                "WEBHOOK_URL"
            ),
            // The outbox keeps each token sealed until it is sent: no key, no start.
            (
                [
                    "TOKEN_DELIVERY": "webhook", "WEBHOOK_URL": "https://h.example.com/",
                    "WEBHOOK_SECRET": "0123456789abcdef",
                ], "MFA_ENCRYPTION_KEY"
            ),
            (
                [
                    "RESET_TOKEN_DELIVERY": "response", "ALLOW_RESET_TOKEN_IN_RESPONSE": "true",
                    "SESSION_COOKIE_SECURE": "false",
                ], "SESSION_COOKIE_SECURE"
            ),
            (
                [
                    "RESET_TOKEN_DELIVERY": "response", "ALLOW_RESET_TOKEN_IN_RESPONSE": "true",
                    "PASSWORD_MIN_LENGTH": "6",
                ], "PASSWORD_MIN_LENGTH"
            ),
        ]
    )
    func refusals(environment: [String: String], variable: String) async throws {
        do {
            _ = try await load(environment.merging(["LATCHKEY_ENV": "production"]) { a, _ in a })
            Issue.record("production started with \(environment)")
        } catch let error as ConfigurationError {
            #expect(error.problems.contains { $0.hasPrefix(variable) }, "\(error)")
            #expect(error.problems.allSatisfy { !$0.contains("\n") })
        }
    }

    @Test("every problem is reported at once, one line each, each naming its setting")
    func everyProblemAtOnce() async throws {
        do {
            _ = try await load([
                "LATCHKEY_ENV": "production", "PORT": "eighty", "BCRYPT_COST": "99", "LOG_FORMAT": "xml",
                "TRUSTED_PROXIES": "10.0.0.0/8,not-a-network", "THROTTLE_FIRST_WAIT": "600", "THROTTLE_MAX_WAIT": "60",
            ])
            Issue.record("production started")
        } catch let error as ConfigurationError {
            let named = error.problems.map { String($0.prefix { $0 != ":" }) }
            #expect(
                named == [
                    "PORT", "BCRYPT_COST", "TOKEN_DELIVERY (or its old name RESET_TOKEN_DELIVERY)", "TRUSTED_PROXIES",
                    "THROTTLE_MAX_WAIT", "LOG_FORMAT", "METRICS_TOKEN",
                ])
            // As the command line prints it: `Error: ` before each line.
            #expect(("Error: " + error.description).split(separator: "\n").allSatisfy { $0.hasPrefix("Error: ") })
        }
    }

    @Test("origins, proxies, the per-client limit and throttle thresholds are read and checked")
    func hardeningSettings() async throws {
        let settings = try await load([
            "ALLOWED_ORIGINS": "https://app.example.com, http://localhost:3000",
            "TRUSTED_PROXIES": "10.0.0.0/8,::1", "RATE_LIMIT_PER_IP_PER_MINUTE": "30",
            "LOGIN_MAX_FAILURES": "5", "RESET_TOKEN_MAX_FAILURES": "4", "THROTTLE_FIRST_WAIT": "30",
            "THROTTLE_MAX_WAIT": "600", "RESET_TOKENS_PER_HOUR": "3",
        ])
        #expect(settings.allowedOrigins == ["https://app.example.com", "http://localhost:3000"])
        #expect(settings.trustedProxies.count == 2)
        #expect(settings.rateLimitPerMinute == 30)
        #expect(settings.policy.loginThrottle == FailureThrottle(maxFailures: 5, firstWait: 30, maxWait: 600))
        #expect(settings.policy.resetTokenThrottle.maxFailures == 4)
        #expect(settings.policy.resetRequestLimit.maxRequests == 3)
        for (name, value) in [
            ("ALLOWED_ORIGINS", "https://app.example.com/path"), ("TRUSTED_PROXIES", "10.0.0.0/40"),
            ("THROTTLE_MAX_WAIT", "10"), ("LATCHKEY_ENV", "staging"), ("RESET_TOKEN_DELIVERY", "email"),
        ] {
            await #expect(throws: ConfigurationError.self, "\(name)=\(value)") { _ = try await load([name: value]) }
        }
    }
}
