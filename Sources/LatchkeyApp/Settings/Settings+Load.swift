import Configuration
import Foundation
import LatchkeyCore
import LatchkeyHTTP
import LatchkeyPostgres
import Logging
import NIOCore

extension Settings {
    /// Reads `TOKEN_DELIVERY` (or its old name), `ALLOW_RESET_TOKEN_IN_RESPONSE` and the
    /// webhook, with the production profile's refusals.
    /// - Throws: `ConfigurationError` with the delivery's problem and the webhook's, both when
    ///   both are wrong.
    static func loadDelivery(
        into settings: inout Settings,
        text: (Key) -> String?,
        boolean: (Key, Bool) throws(ConfigurationError) -> Bool
    ) throws(ConfigurationError) {
        let production = settings.profile == .production
        let names = TokenDelivery.allCases.map(\.rawValue).joined(separator: ", ")
        var problems: [String] = []
        var delivery = TokenDelivery.response
        // TOKEN_DELIVERY is the name; RESET_TOKEN_DELIVERY, its old one, stays accepted.
        let (current, old) = (text(.tokenDelivery), text(.resetTokenDelivery))
        // Messages name the setting the operator used.
        let name = current == nil && old != nil ? "RESET_TOKEN_DELIVERY" : "TOKEN_DELIVERY"
        let allowInResponse = try boolean(.allowResetTokenInResponse, false)
        if let current, let old, current != old {
            problems.append(
                "TOKEN_DELIVERY: '\(current)' and RESET_TOKEN_DELIVERY (its old name): '\(old)' disagree; set one")
        } else if let raw = current ?? old {
            if let parsed = TokenDelivery(rawValue: raw) {
                delivery = parsed
                if production && delivery == .log {
                    problems.append("\(name): log writes tokens to the log and is refused in production")
                }
                if production && delivery == .response && !allowInResponse {
                    problems.append(
                        "\(name): response hands tokens to anyone who knows an email; "
                            + "set ALLOW_RESET_TOKEN_IN_RESPONSE=true to accept that in production")
                }
            } else {
                problems.append("\(name): '\(raw)' must be one of \(names)")
            }
        } else if production {
            problems.append(
                "TOKEN_DELIVERY (or its old name RESET_TOKEN_DELIVERY): must be set in production (webhook, or "
                    + "response with ALLOW_RESET_TOKEN_IN_RESPONSE=true)")
        }
        settings.policy.tokenDelivery = delivery
        if let url = text(.webhookURL) {
            if let components = URLComponents(string: url), let scheme = components.scheme,
                ["http", "https"].contains(scheme), components.host?.isEmpty == false
            {
                if let secret = text(.webhookSecret), secret.utf8.count >= 16 {
                    settings.webhook = WebhookSettings(url: url, secret: secret)
                } else {
                    problems.append("WEBHOOK_SECRET: must be set, at least 16 bytes, when WEBHOOK_URL is")
                }
            } else {
                problems.append("WEBHOOK_URL: '\(url)' is not an http:// or https:// URL")
            }
        } else if delivery == .webhook {
            problems.append("WEBHOOK_URL: must be set when \(name) is webhook")
        }
        guard problems.isEmpty else { throw ConfigurationError(problems: problems) }
    }

    /// Reads and checks every setting.
    /// - Parameter reader: The configuration.
    /// - Returns: The settings.
    /// - Throws: `ConfigurationError` with every invalid value found, one problem per setting (a
    ///   value that cannot be used is read as its default, so that the checks after it still run
    ///   and an operator fixes them all in one go).
    public static func load(from reader: ConfigReader) throws(ConfigurationError) -> Settings {
        var problems: [String] = []
        func text(_ key: Key) -> String? {
            reader.string(forKey: key.configKey)?.trimmingCharacters(in: .whitespaces)
        }
        /// Runs a part of the reading, keeping its problems and going on.
        func record(_ part: () throws(ConfigurationError) -> Void) {
            do {
                try part()
            } catch {
                problems.append(contentsOf: error.problems)
            }
        }
        func integer(_ key: Key, _ range: ClosedRange<Int>, default value: Int) -> Int {
            guard let raw = text(key) else { return value }
            guard let number = Int(raw), range.contains(number) else {
                problems.append(
                    "\(key.rawValue): '\(raw)' must be an integer from \(range.lowerBound) to \(range.upperBound)")
                return value
            }
            return number
        }
        /// A decimal number of seconds in `range` (at most millisecond precision), or `nil` when unset
        /// or invalid.
        func seconds(_ key: Key, _ range: ClosedRange<Double>) -> Duration? {
            guard let raw = text(key) else { return nil }
            guard let number = Double(raw), number.isFinite, range.contains(number) else {
                problems.append(
                    "\(key.rawValue): '\(raw)' must be a number of seconds from \(range.lowerBound) to "
                        + "\(Int(range.upperBound))")
                return nil
            }
            return .milliseconds(Int((number * 1000).rounded()))
        }
        func boolean(_ key: Key, default value: Bool) -> Bool {
            guard let raw = text(key) else { return value }
            switch raw {
            case "true": return true
            case "false": return false
            default:
                problems.append("\(key.rawValue): '\(raw)' must be true or false")
                return value
            }
        }

        var settings = Settings()
        let day = 24 * 3600
        if let raw = text(.profile) {
            if let profile = Profile(rawValue: raw) {
                settings.profile = profile
            } else {
                problems.append("LATCHKEY_ENV: '\(raw)' must be development or production")
            }
        }
        let production = settings.profile == .production
        if production {
            // Behind a proxy or in a container, production listens on every interface.
            settings.host = "0.0.0.0"
            settings.secureCookies = true
            settings.policy.passwordMinLength = Self.productionPasswordMinLength
            settings.policy.concealExistingAccounts = true
        }
        if let host = text(.host) {
            if host.isEmpty {
                problems.append("HOST: must not be empty")
            } else {
                settings.host = host
            }
        }
        settings.port = integer(.port, 0...65535, default: settings.port)
        if let url = text(.databaseURL) {
            record { () throws(ConfigurationError) in settings.database = try DatabaseLocation(url: url) }
        }
        let poolSize = integer(.databasePoolSize, 1...1000, default: 10)
        let timeout = seconds(.databaseTimeout, 0.1...60)
        if case .postgres(var postgres) = settings.database {
            postgres.poolSize = poolSize
            if let timeout { postgres.deadline = timeout }
            settings.database = .postgres(postgres)
        }
        settings.bcryptCost = integer(
            .bcryptCost,
            BcryptPasswordHasher.validCosts,
            default: settings.bcryptCost
        )
        settings.importMaxBcryptCost = integer(
            .importMaxBcryptCost, BcryptPasswordHasher.validCosts, default: settings.importMaxBcryptCost)
        settings.policy.passwordMinLength = integer(
            .passwordMinLength,
            1...maximumPasswordLength,
            default: settings.policy.passwordMinLength
        )
        settings.policy.sessionLifetime = integer(
            .sessionLifetime,
            60...(3650 * day),
            default: settings.policy.sessionLifetime
        )
        settings.policy.sessionIdleTimeout = integer(
            .sessionIdleTimeout,
            60...(3650 * day),
            default: settings.policy.sessionIdleTimeout
        )
        settings.policy.activityRetentionDays = integer(
            .activityRetention,
            1...3650,
            default: settings.policy.activityRetentionDays
        )
        settings.policy.outboxRetryFirst = integer(
            .outboxRetryFirst, 1...3600, default: settings.policy.outboxRetryFirst)
        settings.policy.outboxRetentionDays = integer(
            .outboxRetention, 1...3650, default: settings.policy.outboxRetentionDays)
        settings.policy.sessionsPerUserMax = integer(
            .sessionsPerUserMax,
            1...10_000,
            default: settings.policy.sessionsPerUserMax
        )
        settings.secureCookies = boolean(.sessionCookieSecure, default: settings.secureCookies)
        if production && !settings.secureCookies {
            problems.append("SESSION_COOKIE_SECURE: must be true in production")
        }
        if production && settings.policy.passwordMinLength < 8 {
            problems.append("PASSWORD_MIN_LENGTH: must be at least 8 in production")
        }
        record { () throws(ConfigurationError) in try loadDelivery(into: &settings, text: text, boolean: boolean) }
        if let raw = text(.allowedOrigins) {
            record { () throws(ConfigurationError) in try loadAllowedOrigins(raw, into: &settings) }
        }
        settings.rateLimitPerMinute = integer(.rateLimitPerIPPerMinute, 0...1_000_000, default: 0)
        if let raw = text(.trustedProxies) {
            for entry in raw.split(separator: ",") {
                if let network = IPNetwork(String(entry)) {
                    settings.trustedProxies.append(network)
                } else {
                    problems.append("TRUSTED_PROXIES: '\(entry)' is not an address or CIDR range")
                }
            }
        }
        // OWASP ASVS 5.0 7.4.3: a credential change may end the other sessions; production does.
        settings.policy.resetEndsSessions = boolean(.resetEndsSessions, default: production)
        settings.policy.resetTokenTTL = integer(
            .resetTokenTTL, 60...(30 * day), default: settings.policy.resetTokenTTL)
        settings.purgeInterval = integer(.purgeInterval, 1...day, default: settings.purgeInterval)
        settings.hashQueueTimeout = integer(.hashQueueTimeout, 1...60, default: settings.hashQueueTimeout)
        let timeouts = settings.connectionTimeouts
        func seconds(_ key: Key, _ range: ClosedRange<Int>, _ value: TimeAmount) -> TimeAmount {
            .seconds(Int64(integer(key, range, default: Int(value.nanoseconds / 1_000_000_000))))
        }
        settings.connectionTimeouts = ConnectionTimeouts(
            header: seconds(.httpHeaderTimeout, 1...3600, timeouts.header),
            body: seconds(.httpBodyTimeout, 1...3600, timeouts.body),
            idle: seconds(.httpIdleTimeout, 1...day, timeouts.idle),
            shutdown: seconds(.shutdownTimeout, 1...3600, timeouts.shutdown)
        )
        let firstWait = integer(.throttleFirstWait, 1...day, default: settings.policy.loginThrottle.firstWait)
        var maxWait = integer(.throttleMaxWait, 1...day, default: settings.policy.loginThrottle.maxWait)
        if maxWait < firstWait {
            problems.append("THROTTLE_MAX_WAIT: \(maxWait) must not be below THROTTLE_FIRST_WAIT (\(firstWait))")
            maxWait = firstWait
        }
        settings.policy.loginThrottle = FailureThrottle(
            maxFailures: integer(.loginMaxFailures, 1...1000, default: settings.policy.loginThrottle.maxFailures),
            firstWait: firstWait,
            maxWait: maxWait
        )
        settings.policy.resetTokenThrottle = FailureThrottle(
            maxFailures: integer(
                .resetTokenMaxFailures, 1...1000, default: settings.policy.resetTokenThrottle.maxFailures),
            firstWait: firstWait,
            maxWait: maxWait
        )
        let secondFactorMaxFailures = integer(
            .secondFactorMaxFailures, 1...1000, default: settings.policy.secondFactorThrottle.maxFailures)
        settings.policy.loginChallengeLifetime = integer(
            .secondFactorLoginTokenTTL, 30...3600, default: settings.policy.loginChallengeLifetime)
        record { () throws(ConfigurationError) in
            try loadSecondFactor(
                into: &settings, text: text, maxFailures: secondFactorMaxFailures, firstWait: firstWait,
                maxWait: maxWait)
        }
        // The outbox keeps each token until it is sent, sealed under this key (development makes
        // one in a file; several production nodes must share one).
        if settings.profile == .production, [.webhook, .email].contains(settings.policy.tokenDelivery),
            settings.policy.secondFactorKeyring == nil, text(.secondFactorEncryptionKey) == nil
        {
            problems.append(
                "MFA_ENCRYPTION_KEY: must be set in production when TOKEN_DELIVERY is "
                    + "\(settings.policy.tokenDelivery.rawValue): it seals the tokens "
                    + "the outbox keeps until they are sent")
        }
        settings.policy.resetRequestLimit.maxRequests = integer(
            .resetTokensPerHour, 1...1000, default: settings.policy.resetRequestLimit.maxRequests)
        // Verification requests have a counter of their own, with the same limit.
        settings.policy.verificationRequestLimit.maxRequests = settings.policy.resetRequestLimit.maxRequests
        if let raw = text(.emailVerification) {
            if let mode = EmailVerification(rawValue: raw) {
                settings.policy.emailVerification = mode
            } else {
                problems.append("EMAIL_VERIFICATION: '\(raw)' must be off, optional or required")
            }
        }
        settings.policy.verificationTokenTTL = integer(
            .emailVerificationTTL, 60...(30 * day), default: settings.policy.verificationTokenTTL)
        if let raw = text(.logFormat) {
            if let format = LogFormat(rawValue: raw) {
                settings.logFormat = format
            } else {
                problems.append("LOG_FORMAT: '\(raw)' must be text or json")
            }
        }
        if let token = text(.metricsToken) {
            if !token.isEmpty, token.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) {
                settings.metricsToken = token
            } else {
                problems.append("METRICS_TOKEN: must be printable ASCII without spaces")
                // Read as set, so that production does not also ask for it.
                settings.metricsToken = ""
            }
        }
        record { () throws(ConfigurationError) in try loadHTTP(into: &settings, text: text, boolean: boolean) }
        record { () throws(ConfigurationError) in
            try loadMail(into: &settings, text: text, integer: { integer($0, $1, default: $2) })
        }
        if let raw = text(.logLevel) {
            if let level = Logger.Level(rawValue: raw.lowercased()) {
                settings.logLevel = level
            } else {
                let names = Logger.Level.allCases.map(\.rawValue).joined(separator: ", ")
                problems.append("LOG_LEVEL: '\(raw)' must be one of \(names)")
            }
        }
        guard problems.isEmpty else { throw ConfigurationError(problems: problems) }
        return settings
    }
}
