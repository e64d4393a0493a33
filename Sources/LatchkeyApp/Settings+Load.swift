import Configuration
import Foundation
import LatchkeyCore
import LatchkeyHTTP
import LatchkeyPostgres
import Logging
import NIOCore

extension Settings {
    /// Reads `RESET_TOKEN_DELIVERY`, `ALLOW_RESET_TOKEN_IN_RESPONSE` and the webhook, with the
    /// production profile's refusals.
    static func loadDelivery(
        into settings: inout Settings,
        text: (Key) -> String?,
        boolean: (Key, Bool) throws(ConfigurationError) -> Bool
    ) throws(ConfigurationError) {
        let production = settings.profile == .production
        let names = ResetTokenDelivery.allCases.map(\.rawValue).joined(separator: ", ")
        var delivery = ResetTokenDelivery.response
        // TOKEN_DELIVERY is the name; RESET_TOKEN_DELIVERY, its old one, stays accepted.
        let (current, old) = (text(.tokenDelivery), text(.resetTokenDelivery))
        if let current, let old, current != old {
            throw ConfigurationError(
                "TOKEN_DELIVERY: '\(current)' and RESET_TOKEN_DELIVERY (its old name): '\(old)' disagree; set one")
        }
        // Messages name the setting the operator used.
        let name = current == nil && old != nil ? "RESET_TOKEN_DELIVERY" : "TOKEN_DELIVERY"
        if let raw = current ?? old {
            guard let parsed = ResetTokenDelivery(rawValue: raw) else {
                throw ConfigurationError("\(name): '\(raw)' must be one of \(names)")
            }
            delivery = parsed
        } else if production {
            throw ConfigurationError(
                "TOKEN_DELIVERY (or its old name RESET_TOKEN_DELIVERY): must be set in production (webhook, or "
                    + "response with ALLOW_RESET_TOKEN_IN_RESPONSE=true)")
        }
        let allowInResponse = try boolean(.allowResetTokenInResponse, false)
        if production && delivery == .log {
            throw ConfigurationError("\(name): log writes tokens to the log and is refused in production")
        }
        if production && delivery == .response && !allowInResponse {
            throw ConfigurationError(
                "\(name): response hands tokens to anyone who knows an email; "
                    + "set ALLOW_RESET_TOKEN_IN_RESPONSE=true to accept that in production")
        }
        settings.policy.resetTokenDelivery = delivery
        if let url = text(.webhookURL) {
            guard let components = URLComponents(string: url), let scheme = components.scheme,
                ["http", "https"].contains(scheme), components.host?.isEmpty == false
            else {
                throw ConfigurationError("WEBHOOK_URL: '\(url)' is not an http:// or https:// URL")
            }
            guard let secret = text(.webhookSecret), secret.utf8.count >= 16 else {
                throw ConfigurationError("WEBHOOK_SECRET: must be set, at least 16 bytes, when WEBHOOK_URL is")
            }
            settings.webhook = WebhookSettings(url: url, secret: secret)
        } else if delivery == .webhook {
            throw ConfigurationError("WEBHOOK_URL: must be set when \(name) is webhook")
        }
    }

    /// Reads and checks every setting.
    /// - Parameter reader: The configuration.
    /// - Returns: The settings.
    /// - Throws: `ConfigurationError` naming the first invalid value.
    public static func load(from reader: ConfigReader) throws(ConfigurationError) -> Settings {
        func text(_ key: Key) -> String? {
            reader.string(forKey: key.configKey)?.trimmingCharacters(in: .whitespaces)
        }
        func integer(_ key: Key, _ range: ClosedRange<Int>, default value: Int) throws(ConfigurationError) -> Int {
            guard let raw = text(key) else { return value }
            guard let number = Int(raw), range.contains(number) else {
                throw ConfigurationError(
                    "\(key.rawValue): '\(raw)' must be an integer from \(range.lowerBound) to \(range.upperBound)"
                )
            }
            return number
        }
        func boolean(_ key: Key, default value: Bool) throws(ConfigurationError) -> Bool {
            guard let raw = text(key) else { return value }
            switch raw {
            case "true": return true
            case "false": return false
            default: throw ConfigurationError("\(key.rawValue): '\(raw)' must be true or false")
            }
        }

        var settings = Settings()
        let day = 24 * 3600
        if let raw = text(.profile) {
            guard let profile = Profile(rawValue: raw) else {
                throw ConfigurationError("LATCHKEY_ENV: '\(raw)' must be development or production")
            }
            settings.profile = profile
        }
        let production = settings.profile == .production
        if production {
            settings.secureCookies = true
            settings.policy.passwordMinLength = Self.productionPasswordMinLength
            settings.policy.concealExistingAccounts = true
        }
        if let host = text(.host) {
            guard !host.isEmpty else { throw ConfigurationError("HOST: must not be empty") }
            settings.host = host
        }
        settings.port = try integer(.port, 0...65535, default: settings.port)
        if let url = text(.databaseURL) {
            settings.database = try DatabaseLocation(url: url)
        }
        if case .postgres(var postgres) = settings.database {
            postgres.poolSize = try integer(.databasePoolSize, 1...1000, default: postgres.poolSize)
            settings.database = .postgres(postgres)
        } else {
            _ = try integer(.databasePoolSize, 1...1000, default: 10)
        }
        settings.bcryptCost = try integer(
            .bcryptCost,
            BcryptPasswordHasher.validCosts,
            default: settings.bcryptCost
        )
        settings.importMaxBcryptCost = try integer(
            .importMaxBcryptCost, BcryptPasswordHasher.validCosts, default: settings.importMaxBcryptCost)
        settings.policy.passwordMinLength = try integer(
            .passwordMinLength,
            1...maximumPasswordLength,
            default: settings.policy.passwordMinLength
        )
        settings.policy.sessionLifetime = try integer(
            .sessionLifetime,
            60...(3650 * day),
            default: settings.policy.sessionLifetime
        )
        settings.policy.sessionIdleTimeout = try integer(
            .sessionIdleTimeout,
            60...(3650 * day),
            default: settings.policy.sessionIdleTimeout
        )
        settings.policy.activityRetentionDays = try integer(
            .activityRetention,
            1...3650,
            default: settings.policy.activityRetentionDays
        )
        settings.policy.sessionsPerUserMax = try integer(
            .sessionsPerUserMax,
            1...10_000,
            default: settings.policy.sessionsPerUserMax
        )
        settings.secureCookies = try boolean(.sessionCookieSecure, default: settings.secureCookies)
        if production && !settings.secureCookies {
            throw ConfigurationError("SESSION_COOKIE_SECURE: must be true in production")
        }
        if production && settings.policy.passwordMinLength < 8 {
            throw ConfigurationError("PASSWORD_MIN_LENGTH: must be at least 8 in production")
        }
        try loadDelivery(into: &settings, text: text, boolean: boolean)
        if let raw = text(.allowedOrigins) {
            settings.allowedOrigins = try raw.split(separator: ",").map { entry throws(ConfigurationError) in
                let origin = entry.trimmingCharacters(in: .whitespaces)
                guard let components = URLComponents(string: origin), let scheme = components.scheme,
                    ["http", "https"].contains(scheme), components.host?.isEmpty == false,
                    components.path.isEmpty, components.query == nil, components.fragment == nil,
                    components.user == nil
                else {
                    throw ConfigurationError(
                        "ALLOWED_ORIGINS: '\(origin)' is not an origin such as https://app.example.com")
                }
                return origin
            }
        }
        settings.rateLimitPerMinute = try integer(.rateLimitPerIPPerMinute, 0...1_000_000, default: 0)
        if let raw = text(.trustedProxies) {
            settings.trustedProxies = try raw.split(separator: ",").map { entry throws(ConfigurationError) in
                guard let network = IPNetwork(String(entry)) else {
                    throw ConfigurationError("TRUSTED_PROXIES: '\(entry)' is not an address or CIDR range")
                }
                return network
            }
        }
        // OWASP ASVS 5.0 7.4.3: a credential change may end the other sessions; production does.
        settings.policy.resetEndsSessions = try boolean(.resetEndsSessions, default: production)
        settings.policy.resetTokenTTL = try integer(
            .resetTokenTTL, 60...(30 * day), default: settings.policy.resetTokenTTL)
        settings.purgeInterval = try integer(.purgeInterval, 1...day, default: settings.purgeInterval)
        settings.hashQueueTimeout = try integer(.hashQueueTimeout, 1...60, default: settings.hashQueueTimeout)
        let timeouts = settings.connectionTimeouts
        func seconds(_ key: Key, _ range: ClosedRange<Int>, _ value: TimeAmount) throws(ConfigurationError)
            -> TimeAmount
        {
            .seconds(Int64(try integer(key, range, default: Int(value.nanoseconds / 1_000_000_000))))
        }
        settings.connectionTimeouts = ConnectionTimeouts(
            header: try seconds(.httpHeaderTimeout, 1...3600, timeouts.header),
            body: try seconds(.httpBodyTimeout, 1...3600, timeouts.body),
            idle: try seconds(.httpIdleTimeout, 1...day, timeouts.idle),
            shutdown: try seconds(.shutdownTimeout, 1...3600, timeouts.shutdown)
        )
        let firstWait = try integer(.throttleFirstWait, 1...day, default: settings.policy.loginThrottle.firstWait)
        let maxWait = try integer(.throttleMaxWait, 1...day, default: settings.policy.loginThrottle.maxWait)
        guard maxWait >= firstWait else {
            throw ConfigurationError(
                "THROTTLE_MAX_WAIT: \(maxWait) must not be below THROTTLE_FIRST_WAIT (\(firstWait))")
        }
        settings.policy.loginThrottle = FailureThrottle(
            maxFailures: try integer(.loginMaxFailures, 1...1000, default: settings.policy.loginThrottle.maxFailures),
            firstWait: firstWait,
            maxWait: maxWait
        )
        settings.policy.resetTokenThrottle = FailureThrottle(
            maxFailures: try integer(
                .resetTokenMaxFailures, 1...1000, default: settings.policy.resetTokenThrottle.maxFailures),
            firstWait: firstWait,
            maxWait: maxWait
        )
        try loadSecondFactor(
            into: &settings, text: text,
            maxFailures: try integer(.mfaMaxFailures, 1...1000, default: settings.policy.mfaThrottle.maxFailures),
            firstWait: firstWait, maxWait: maxWait)
        settings.policy.resetRequestLimit.maxRequests = try integer(
            .resetTokensPerHour, 1...1000, default: settings.policy.resetRequestLimit.maxRequests)
        // Verification requests have a counter of their own, with the same limit.
        settings.policy.verificationRequestLimit.maxRequests = settings.policy.resetRequestLimit.maxRequests
        if let raw = text(.emailVerification) {
            guard let mode = EmailVerification(rawValue: raw) else {
                throw ConfigurationError("EMAIL_VERIFICATION: '\(raw)' must be off, optional or required")
            }
            settings.policy.emailVerification = mode
        }
        settings.policy.verificationTokenTTL = try integer(
            .emailVerificationTTL, 60...(30 * day), default: settings.policy.verificationTokenTTL)
        if let raw = text(.logFormat) {
            guard let format = LogFormat(rawValue: raw) else {
                throw ConfigurationError("LOG_FORMAT: '\(raw)' must be text or json")
            }
            settings.logFormat = format
        }
        if let token = text(.metricsToken) {
            guard !token.isEmpty, token.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else {
                throw ConfigurationError("METRICS_TOKEN: must be printable ASCII without spaces")
            }
            settings.metricsToken = token
        }
        try loadHTTP(into: &settings, text: text, boolean: boolean)
        if let raw = text(.logLevel) {
            guard let level = Logger.Level(rawValue: raw.lowercased()) else {
                let names = Logger.Level.allCases.map(\.rawValue).joined(separator: ", ")
                throw ConfigurationError("LOG_LEVEL: '\(raw)' must be one of \(names)")
            }
            settings.logLevel = level
        }
        return settings
    }
}
