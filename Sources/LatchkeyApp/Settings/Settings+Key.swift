import Configuration

extension Settings {
    /// Every setting, named as its environment variable: the one list of names, defaults,
    /// production defaults and descriptions. `serve --help`, `latchkey settings` and the
    /// README's configuration table come from it or are checked against it.
    public enum Key: String, CaseIterable, Sendable {
        case profile = "LATCHKEY_ENV"
        case host = "HOST"
        case port = "PORT"
        case databaseURL = "DATABASE_URL"
        case databasePoolSize = "DATABASE_POOL_SIZE"
        case databaseTimeout = "DATABASE_TIMEOUT"
        case bcryptCost = "BCRYPT_COST"
        case passwordMinLength = "PASSWORD_MIN_LENGTH"
        case sessionLifetime = "SESSION_LIFETIME"
        case sessionIdleTimeout = "SESSION_IDLE_TIMEOUT"
        case sessionCookieSecure = "SESSION_COOKIE_SECURE"
        case resetTokenTTL = "RESET_TOKEN_TTL"
        case tokenDelivery = "TOKEN_DELIVERY"
        case resetTokenDelivery = "RESET_TOKEN_DELIVERY"
        case allowResetTokenInResponse = "ALLOW_RESET_TOKEN_IN_RESPONSE"
        case resetEndsSessions = "RESET_ENDS_SESSIONS"
        case webhookURL = "WEBHOOK_URL"
        case webhookSecret = "WEBHOOK_SECRET"
        case loginMaxFailures = "LOGIN_MAX_FAILURES"
        case resetTokenMaxFailures = "RESET_TOKEN_MAX_FAILURES"
        case throttleFirstWait = "THROTTLE_FIRST_WAIT"
        case throttleMaxWait = "THROTTLE_MAX_WAIT"
        case resetTokensPerHour = "RESET_TOKENS_PER_HOUR"
        case rateLimitPerIPPerMinute = "RATE_LIMIT_PER_IP_PER_MINUTE"
        case trustedProxies = "TRUSTED_PROXIES"
        case allowedOrigins = "ALLOWED_ORIGINS"
        case purgeInterval = "PURGE_INTERVAL"
        case logLevel = "LOG_LEVEL"
        case logFormat = "LOG_FORMAT"
        case metricsToken = "METRICS_TOKEN"
        case metricsEnabled = "METRICS_ENABLED"
        case sessionCookieName = "SESSION_COOKIE_NAME"
        case publicURL = "PUBLIC_URL"
        case importMaxBcryptCost = "IMPORT_MAX_BCRYPT_COST"
        case httpHeaderTimeout = "HTTP_HEADER_TIMEOUT"
        case httpBodyTimeout = "HTTP_BODY_TIMEOUT"
        case httpIdleTimeout = "HTTP_IDLE_TIMEOUT"
        case shutdownTimeout = "SHUTDOWN_TIMEOUT"
        case hashQueueTimeout = "HASH_QUEUE_TIMEOUT"
        case sessionsPerUserMax = "SESSIONS_PER_USER_MAX"
        case activityRetention = "ACTIVITY_RETENTION"
        case emailVerification = "EMAIL_VERIFICATION"
        case emailVerificationTTL = "EMAIL_VERIFICATION_TTL"
        case secondFactorIssuer = "MFA_ISSUER"
        case secondFactorEncryptionKey = "MFA_ENCRYPTION_KEY"
        case secondFactorEncryptionKeysPrevious = "MFA_ENCRYPTION_KEYS_PREVIOUS"
        case secondFactorMaxFailures = "MFA_MAX_FAILURES"
        case secondFactorLoginTokenTTL = "MFA_LOGIN_TOKEN_TTL"
        case uiEnabled = "UI_ENABLED"
        case uiTitle = "UI_TITLE"
        case uiLogoPath = "UI_LOGO_PATH"
        case uiTemplatesDir = "UI_TEMPLATES_DIR"
        case allowedRedirectHosts = "ALLOWED_REDIRECT_HOSTS"
        case sessionCookieDomain = "SESSION_COOKIE_DOMAIN"
        case outboxRetryFirst = "OUTBOX_RETRY_FIRST"
        case emailFrom = "EMAIL_FROM"
        case sendmailPath = "SENDMAIL_PATH"
        case sendmailTimeout = "SENDMAIL_TIMEOUT"
        case outboxRetention = "OUTBOX_RETENTION"

        /// The hierarchical key swift-configuration maps to this environment variable.
        public var configKey: ConfigKey {
            ConfigKey(rawValue.lowercased().split(separator: "_").map(String.init))
        }

        /// The value used when the setting is not given in the development profile, as it would
        /// be written in the environment; `nil` when there is none (the setting is off or unset).
        public var defaultValue: String? {
            switch self {
            case .profile: "development"
            case .host: "127.0.0.1"
            case .port: "5000"
            case .databaseURL: "sqlite://latchkey.sqlite"
            case .databasePoolSize: "10"
            case .databaseTimeout: "1.5"
            case .bcryptCost: "12"
            case .passwordMinLength: "1"
            case .sessionLifetime: "2592000"
            case .sessionIdleTimeout: "604800"
            case .sessionCookieSecure: "false"
            case .resetTokenTTL: "3600"
            case .tokenDelivery: "response"
            case .resetTokenDelivery: nil
            case .allowResetTokenInResponse: "false"
            case .resetEndsSessions: "false"
            case .webhookURL, .webhookSecret: nil
            case .loginMaxFailures, .resetTokenMaxFailures: "10"
            case .throttleFirstWait: "60"
            case .throttleMaxWait: "900"
            case .resetTokensPerHour: "5"
            case .rateLimitPerIPPerMinute: "0"
            case .trustedProxies, .allowedOrigins: nil
            case .purgeInterval: "3600"
            case .logLevel: "info"
            case .logFormat: "text"
            case .metricsToken: nil
            case .metricsEnabled: "true"
            case .sessionCookieName: "session_id"
            case .publicURL: nil
            case .importMaxBcryptCost: "14"
            case .httpHeaderTimeout, .httpBodyTimeout: "10"
            case .httpIdleTimeout: "60"
            case .shutdownTimeout: "15"
            case .hashQueueTimeout: "2"
            case .sessionsPerUserMax: "100"
            case .activityRetention: "90"
            case .outboxRetryFirst: "10"
            case .emailFrom: nil
            case .sendmailPath: "/usr/sbin/sendmail"
            case .sendmailTimeout: "30"
            case .outboxRetention: "7"
            case .emailVerification: "optional"
            case .emailVerificationTTL: "86400"
            case .secondFactorIssuer: "Latchkey"
            case .secondFactorEncryptionKey, .secondFactorEncryptionKeysPrevious: nil
            case .secondFactorMaxFailures: "5"
            case .secondFactorLoginTokenTTL: "300"
            case .uiEnabled: "true"
            case .uiTitle: "Latchkey"
            case .uiLogoPath, .uiTemplatesDir: nil
            case .allowedRedirectHosts, .sessionCookieDomain: nil
            }
        }

        /// How the production profile changes the default, when it does.
        public enum ProductionDefault: Sendable, Equatable {
            /// The same default as in development.
            case same
            /// Another default value, as it would be written in the environment.
            case value(String)
            /// No default: start-up stops unless the setting is given.
            case required
        }

        /// The default in the production profile.
        public var productionDefault: ProductionDefault {
            switch self {
            case .host: .value("0.0.0.0")
            case .passwordMinLength: .value("15")
            case .sessionCookieSecure: .value("true")
            case .resetEndsSessions: .value("true")
            case .tokenDelivery: .required
            case .metricsToken: .required
            case .sessionCookieName: .value("__Host-session_id")
            default: .same
            }
        }

        /// What the setting does, in one sentence, with its unit or its allowed values.
        public var summary: String {
            switch self {
            case .profile: "development or production (production changes some defaults and refuses unsafe values)"
            case .host: "the address to listen on (development listens on loopback only)"
            case .port: "the port to listen on"
            case .databaseURL:
                "sqlite://PATH, sqlite::memory:, or postgres://USER:PASSWORD@HOST:PORT/DB?sslmode=MODE"
            case .databasePoolSize: "the most PostgreSQL connections per node (1 to 1000)"
            case .databaseTimeout:
                "how long a request waits for PostgreSQL (a connection, a statement), seconds, 0.1 to 60"
            case .bcryptCost: "the bcrypt cost, 4 to 31"
            case .passwordMinLength:
                "the shortest password accepted, in characters after NFKC (1 to 256; production refuses below 8, warns below 15)"
            case .sessionLifetime: "the absolute session lifetime, seconds"
            case .sessionIdleTimeout: "a session unused this many seconds ends"
            case .sessionCookieSecure: "true or false: add Secure to the session cookie"
            case .resetTokenTTL: "how long a reset token is accepted, seconds"
            case .tokenDelivery: "response, log, webhook or email: where reset and verification tokens go"
            case .resetTokenDelivery:
                "the old name of TOKEN_DELIVERY, still accepted; the two must agree when both are set"
            case .allowResetTokenInResponse: "true to run production with TOKEN_DELIVERY=response"
            case .resetEndsSessions:
                "true or false: a password reset ends every session of the account (false keeps them, as the original did; production warns)"
            case .webhookURL: "the http(s):// URL that receives account events"
            case .webhookSecret: "the HMAC-SHA256 key of the webhook's signature, at least 16 bytes"
            case .loginMaxFailures: "failed logins per email answered 401 before waits begin"
            case .resetTokenMaxFailures: "wrong reset tokens per email answered 403 before waits begin"
            case .throttleFirstWait: "the first wait, seconds; each later one doubles"
            case .throttleMaxWait: "the longest wait, seconds"
            case .resetTokensPerHour: "reset requests per email per hour"
            case .rateLimitPerIPPerMinute: "requests per client address per minute on the sensitive routes; 0 is off"
            case .trustedProxies: "comma-separated addresses or CIDR ranges whose X-Forwarded-For is believed"
            case .allowedOrigins:
                "comma-separated origins answered with CORS (and, in production, accepted across sites)"
            case .purgeInterval: "seconds between purges of expired rows"
            case .logLevel: "trace, debug, info, notice, warning, error or critical"
            case .logFormat: "text or json"
            case .metricsToken:
                "when set, /metrics requires Authorization: Bearer <token>; production requires it unless METRICS_ENABLED=false"
            case .metricsEnabled: "true or false: false answers 404 on /metrics"
            case .sessionCookieName:
                "the session cookie's name; __Host- or __Secure- names need Secure cookies, and production needs one of them"
            case .importMaxBcryptCost:
                "the highest bcrypt cost import-flask takes without --allow-high-cost (4 to 31)"
            case .httpHeaderTimeout:
                "seconds a request's headers may take from its first byte (or from the connection's opening) before the connection closes"
            case .httpBodyTimeout: "seconds a request body may stall between two reads before the connection closes"
            case .httpIdleTimeout: "seconds a connection may sit idle between requests before it closes"
            case .shutdownTimeout:
                "seconds requests in flight get after SIGTERM or SIGINT before their connections are closed"
            case .hashQueueTimeout:
                "seconds a request that needs a password hash may wait for a hashing thread; beyond, it gets a 503 at once"
            case .emailVerification:
                "off, optional or required: whether addresses are verified, and whether a login needs it"
            case .emailVerificationTTL: "how long a verification token is accepted, seconds"
            case .secondFactorIssuer: "the issuer authenticator apps show for the second factor (TOTP)"
            case .secondFactorEncryptionKey:
                "32 random bytes in base64 that seal second-factor secrets (AES-256-GCM); development makes latchkey-mfa.key without it, production answers enrolment 503"
            case .secondFactorEncryptionKeysPrevious:
                "comma-separated older MFA_ENCRYPTION_KEY values that still open secrets, each sealed again under the current key when next used"
            case .secondFactorMaxFailures: "wrong second-factor codes per account answered 401 before waits begin"
            case .secondFactorLoginTokenTTL:
                "seconds a login token (mfa_token) waits for its code (30 to 3600); the owner hears of one left unused"
            case .uiEnabled:
                "true or false: serve the pages under /ui (in production they need PUBLIC_URL)"
            case .uiTitle: "the product's name on every page, 1 to 100 characters"
            case .uiLogoPath: "an .svg or .png file (at most 1 MiB) shown as the pages' mark, from /ui/static/"
            case .sessionCookieDomain:
                "the session cookie's Domain (example.com), so that one session covers the applications on its subdomains; production's default name is then __Secure-session_id"
            case .allowedRedirectHosts:
                "comma-separated hosts (app.example.com), domains with their subdomains (.example.com), each optionally with :port, that the pages and /auth/verify may send a browser back to (rd)"
            case .uiTemplatesDir:
                "a folder of files that replace the pages' own one at a time: templates, style.css, brand.css, logo.svg or logo.png, en.json, fr.json"
            case .activityRetention:
                "days an account's security activity (GET /account/activity) is kept (1 to 3650)"
            case .outboxRetryFirst:
                "seconds before a failed message (webhook, mail) is first tried again (1 to 3600); the later retries scale with it: 10 s, 1 min, 5 min, 30 min, 2 h, 6 h, 12 h by default"
            case .emailFrom:
                "the sender of mail, address or Name <address>: with it, notices go to their owners by mail (needs PUBLIC_URL)"
            case .sendmailPath:
                "the sendmail-compatible program that sends mail, run as PATH -t -i with the message on its standard input"
            case .sendmailTimeout:
                "seconds one run of SENDMAIL_PATH may take before it is killed and retried (1 to 600)"
            case .outboxRetention:
                "days a sent or failed outbox message is kept before it is purged (1 to 3650)"
            case .sessionsPerUserMax:
                "the most sessions one account keeps (1 to 10000); a login beyond it ends the account's least recently used session"
            case .publicURL:
                "the service's own URL, scheme://host[:port][/prefix]: production accepts state-changing requests from its origin"
            }
        }

        /// One line of help: the summary and the defaults.
        public var helpLine: String {
            var line = "\(rawValue): \(summary)"
            line += " (default: \(defaultValue ?? "none")"
            switch productionDefault {
            case .same: break
            case .value(let value): line += "; production: \(value)"
            case .required: line += "; production: must be set"
            }
            return line + ")"
        }

        /// Every setting's help line, one per line, in the catalog's order.
        public static var helpListing: String {
            allCases.map(\.helpLine).joined(separator: "\n")
        }
    }
}
