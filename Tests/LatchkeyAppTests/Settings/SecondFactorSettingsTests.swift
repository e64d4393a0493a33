import ExtrasBase64
import Foundation
import LatchkeyCore
import LatchkeyTestSupport
import Logging
import Testing

@testable import LatchkeyApp

@Suite("Second factor: settings, the development key file, the start-up check")
struct SecondFactorSettingsTests {
    static let key = Data((0..<32).map { UInt8($0) }).base64EncodedString()
    static let otherKey = Data((0..<32).map { UInt8(100 + $0) }).base64EncodedString()

    static func load(_ variables: [String: String]) async throws -> Settings {
        try Settings.load(
            from: await Settings.reader(flags: [:], environment: variables, dotEnvPath: "/nonexistent/.env"))
    }

    /// The one-line reason start-up gives for these variables.
    static func refusal(_ variables: [String: String]) async -> String? {
        do {
            _ = try await load(variables)
            return nil
        } catch {
            return "\(error)"
        }
    }

    /// A folder of its own, removed afterwards.
    static func withFolder(_ body: (String) async throws -> Void) async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("latchkey-mfa-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        try await body(folder.path)
    }

    @Test("the defaults: issuer Latchkey, 5 wrong codes with the throttle's waits, no key")
    func defaults() async throws {
        let settings = try await Self.load(["THROTTLE_FIRST_WAIT": "30", "THROTTLE_MAX_WAIT": "600"])
        #expect(settings.policy.secondFactorIssuer == "Latchkey")
        #expect(settings.policy.secondFactorThrottle == FailureThrottle(maxFailures: 5, firstWait: 30, maxWait: 600))
        #expect(settings.policy.secondFactorKeyring == nil)
        #expect(settings.policy.loginChallengeLifetime == 300)
        let set = try await Self.load([
            "MFA_ISSUER": "Acme Login", "MFA_MAX_FAILURES": "3", "MFA_ENCRYPTION_KEY": Self.key,
            "MFA_ENCRYPTION_KEYS_PREVIOUS": " \(Self.otherKey) ,", "MFA_LOGIN_TOKEN_TTL": "30",
        ])
        #expect(set.policy.secondFactorIssuer == "Acme Login" && set.policy.secondFactorThrottle.maxFailures == 3)
        #expect(set.policy.loginChallengeLifetime == 30)
        #expect(try await Self.load(["MFA_LOGIN_TOKEN_TTL": "3600"]).policy.loginChallengeLifetime == 3600)
        #expect(
            set.policy.secondFactorKeyring
                == (try SecondFactorKeyring(
                    current: SecondFactorKeyring.key(base64: Self.key),
                    previous: [SecondFactorKeyring.key(base64: Self.otherKey)])))
    }

    @Test("unusable values stop start-up with one line naming the setting")
    func refusals() async {
        let cases: [([String: String], String)] = [
            (["MFA_ENCRYPTION_KEY": "not base64!"], "MFA_ENCRYPTION_KEY: is not base64"),
            (["MFA_ENCRYPTION_KEY": Data(count: 16).base64EncodedString()], "MFA_ENCRYPTION_KEY: is 16 bytes, not 32"),
            (["MFA_ENCRYPTION_KEYS_PREVIOUS": Self.key], "MFA_ENCRYPTION_KEYS_PREVIOUS: needs MFA_ENCRYPTION_KEY"),
            (
                ["MFA_ENCRYPTION_KEY": Self.key, "MFA_ENCRYPTION_KEYS_PREVIOUS": "\(Self.otherKey),abc"],
                "MFA_ENCRYPTION_KEYS_PREVIOUS: key 2 is not base64"
            ),
            (["MFA_ISSUER": "a\u{7}b"], "MFA_ISSUER: must be 1 to 100 bytes of UTF-8"),
            (["MFA_ISSUER": String(repeating: "x", count: 101)], "MFA_ISSUER: must be 1 to 100 bytes of UTF-8"),
            // 51 characters, 102 bytes: the URI's length is counted in bytes.
            (["MFA_ISSUER": String(repeating: "é", count: 51)], "MFA_ISSUER: must be 1 to 100 bytes of UTF-8"),
            (["MFA_MAX_FAILURES": "0"], "MFA_MAX_FAILURES: '0' must be an integer from 1 to 1000"),
            (["MFA_LOGIN_TOKEN_TTL": "29"], "MFA_LOGIN_TOKEN_TTL: '29' must be an integer from 30 to 3600"),
            (["MFA_LOGIN_TOKEN_TTL": "3601"], "MFA_LOGIN_TOKEN_TTL: '3601' must be an integer from 30 to 3600"),
            (["MFA_LOGIN_TOKEN_TTL": "5m"], "MFA_LOGIN_TOKEN_TTL: '5m' must be an integer from 30 to 3600"),
        ]
        for (variables, reason) in cases {
            let refusal = await Self.refusal(variables)
            #expect(refusal?.hasPrefix(reason) == true, "\(variables): \(refusal ?? "accepted")")
        }
    }

    @Test("development makes a key file beside the SQLite file, readable by its owner alone, and reads it after")
    func developmentKeyFile() async throws {
        try await Self.withFolder { folder in
            var settings = try await Self.load(["DATABASE_URL": "sqlite://\(folder)/auth.sqlite"])
            try settings.resolveDevelopmentSecondFactorKey(logger: CapturedLog().logger)
            let path = "\(folder)/latchkey-mfa.key"
            #expect(settings.secondFactorKeyFile == path)
            let attributes = try FileManager.default.attributesOfItem(atPath: path)
            #expect((attributes[.posixPermissions] as? NSNumber)?.intValue == 0o600)
            let made = try #require(settings.policy.secondFactorKeyring)
            var again = try await Self.load(["DATABASE_URL": "sqlite://\(folder)/auth.sqlite"])
            try again.resolveDevelopmentSecondFactorKey(logger: CapturedLog().logger)
            #expect(again.policy.secondFactorKeyring == made)
            #expect(again.securitySummary["second_factor"] == "key from \(path) (development)")
            // A file that holds no key stops start-up.
            try "nonsense".write(toFile: path, atomically: true, encoding: .utf8)
            var broken = try await Self.load(["DATABASE_URL": "sqlite://\(folder)/auth.sqlite"])
            #expect(throws: ConfigurationError.self) {
                try broken.resolveDevelopmentSecondFactorKey(logger: CapturedLog().logger)
            }
        }
    }

    @Test("nodes starting together in one folder agree on one key")
    func concurrentKeyFile() async throws {
        try await Self.withFolder { folder in
            let settings = try await Self.load(["DATABASE_URL": "sqlite://\(folder)/auth.sqlite"])
            let keyrings = try await withThrowingTaskGroup(of: SecondFactorKeyring?.self) { group in
                for _ in 0..<16 {
                    group.addTask {
                        var node = settings
                        try node.resolveDevelopmentSecondFactorKey(logger: CapturedLog().logger)
                        return node.policy.secondFactorKeyring
                    }
                }
                return try await group.reduce(into: [SecondFactorKeyring?]()) { $0.append($1) }
            }
            #expect(keyrings.count == 16 && keyrings.allSatisfy { $0 != nil && $0 == keyrings[0] })
            #expect(try FileManager.default.contentsOfDirectory(atPath: folder) == ["latchkey-mfa.key"])
        }
    }

    @Test("production and a configured key make no file; production without a key says so")
    func noFile() async throws {
        try await Self.withFolder { folder in
            var keyed = try await Self.load([
                "DATABASE_URL": "sqlite://\(folder)/a.sqlite", "MFA_ENCRYPTION_KEY": Self.key,
            ])
            try keyed.resolveDevelopmentSecondFactorKey(logger: CapturedLog().logger)
            #expect(keyed.secondFactorKeyFile == nil && keyed.securitySummary["second_factor"] == "on")
            var production = try await BuildApplicationTests.settings(
                [
                    "LATCHKEY_ENV": "production", "DATABASE_URL": "sqlite://\(folder)/a.sqlite",
                    "TOKEN_DELIVERY": "response", "ALLOW_RESET_TOKEN_IN_RESPONSE": "true", "METRICS_ENABLED": "false",
                ], secondFactorKey: false)
            try production.resolveDevelopmentSecondFactorKey(logger: CapturedLog().logger)
            #expect(production.policy.secondFactorKeyring == nil)
            #expect("\(production.securitySummary["second_factor"] ?? "")".hasPrefix("not configured"))
            #expect(!FileManager.default.fileExists(atPath: "\(folder)/latchkey-mfa.key"))
        }
    }

    @Test("with an active factor stored, start-up stops without a key that opens it")
    func startUpCheck() async throws {
        try await Self.withFolder { folder in
            let url = "sqlite://\(folder)/auth.sqlite"
            let keyed = try await BuildApplicationTests.settings(["DATABASE_URL": url, "MFA_ENCRYPTION_KEY": Self.key])
            let database = try Database.open(keyed.database, logger: CapturedLog().logger)
            _ = try await database.prepare()
            try await database.withRunning {
                let auth = try await Auth(
                    store: database.store, hasher: FastHasher(), policy: keyed.policy, logger: CapturedLog().logger)
                let account = try await auth.registerUser(email: "ada@example.com", password: "b4l0u")
                _ = try await auth.markVerified(email: account.email)
                let session = try await auth.createSession(
                    for: auth.validLogin(email: "ada@example.com", password: "b4l0u"))
                let enrolment = try await auth.beginTOTPEnrolment(
                    sessionToken: session, password: "b4l0u", origin: SessionOrigin())
                let secret = Data(try enrolment.secret.base32decoded())
                _ = try await auth.confirmTOTPEnrolment(
                    sessionToken: session, code: TOTP.code(secret: secret, at: Date()), origin: SessionOrigin())
            }
            let metrics = TestMetricsBackend.metrics
            _ = try await buildApplication(settings: keyed, logger: CapturedLog().logger, metrics: metrics)
            let rotated = try await BuildApplicationTests.settings([
                "DATABASE_URL": url, "MFA_ENCRYPTION_KEY": Self.otherKey, "MFA_ENCRYPTION_KEYS_PREVIOUS": Self.key,
            ])
            _ = try await buildApplication(settings: rotated, logger: CapturedLog().logger, metrics: metrics)
            let production = try await BuildApplicationTests.settings(
                [
                    "DATABASE_URL": url, "LATCHKEY_ENV": "production", "TOKEN_DELIVERY": "response",
                    "ALLOW_RESET_TOKEN_IN_RESPONSE": "true", "METRICS_ENABLED": "false",
                ], secondFactorKey: false)
            await #expect(
                throws: ConfigurationError(
                    "second factors are active in the database but MFA_ENCRYPTION_KEY is not set")
            ) {
                _ = try await buildApplication(settings: production, logger: CapturedLog().logger, metrics: metrics)
            }
            let wrong = try await BuildApplicationTests.settings([
                "DATABASE_URL": url, "MFA_ENCRYPTION_KEY": Self.otherKey,
            ])
            await #expect(throws: ConfigurationError.self) {
                _ = try await buildApplication(settings: wrong, logger: CapturedLog().logger, metrics: metrics)
            }
        }
    }
}
