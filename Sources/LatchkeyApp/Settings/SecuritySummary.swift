import Foundation
import LatchkeyCore
import Logging

extension Settings {
    /// The effective security settings, for one start-up log line; no secrets.
    var securitySummary: Logger.Metadata {
        let policy = self.policy
        let settings = self
        return [
            "profile": "\(settings.profile.rawValue)",
            "secure_cookies": "\(settings.secureCookies)",
            "password_min_length":
                settings.profile == .production && policy.passwordMinLength < Settings.productionPasswordMinLength
                ? "\(policy.passwordMinLength) (warning: below the \(Settings.productionPasswordMinLength) NIST SP 800-63B asks of a single-factor password)"
                : "\(policy.passwordMinLength)",
            "common_passwords_refused": "\(CommonPasswords.count)",
            "bcrypt_cost": "\(settings.bcryptCost)",
            "reset_token_delivery": "\(policy.tokenDelivery.rawValue)",
            "webhook": "\(settings.webhook.map { URLComponents(string: $0.url)?.host ?? "?" } ?? "none")",
            "mail": "\(settings.mail.map { "from \($0.fromAddress) through \($0.sendmailPath)" } ?? "off")",
            "conceal_existing_accounts": "\(policy.concealExistingAccounts)",
            "cross_site_refused": "\(settings.profile == .production)",
            "allowed_origins":
                "\(settings.allowedOrigins.isEmpty ? "none" : settings.allowedOrigins.joined(separator: " "))",
            "login_throttle":
                "\(policy.loginThrottle.maxFailures) then \(policy.loginThrottle.firstWait)-\(policy.loginThrottle.maxWait)s",
            "reset_token_throttle":
                "\(policy.resetTokenThrottle.maxFailures) then \(policy.resetTokenThrottle.firstWait)-\(policy.resetTokenThrottle.maxWait)s",
            "reset_requests_per_hour": "\(policy.resetRequestLimit.maxRequests)",
            "reset_ends_sessions":
                settings.profile == .production && !policy.resetEndsSessions
                ? "false (warning: a reset leaves every session of the account live, including one taken by whoever the reset locks out)"
                : "\(policy.resetEndsSessions)",
            "second_factor":
                "\(policy.secondFactorKeyring == nil ? "not configured (MFA_ENCRYPTION_KEY unset): enrolment answers 503" : settings.secondFactorKeyFile.map { "key from \($0) (development)" } ?? "on")",
            "mfa_throttle":
                "\(policy.secondFactorThrottle.maxFailures) then \(policy.secondFactorThrottle.firstWait)-\(policy.secondFactorThrottle.maxWait)s",
            "rate_limit_per_ip_per_minute":
                "\(settings.rateLimitPerMinute == 0 ? "off" : "\(settings.rateLimitPerMinute)")",
            "trusted_proxies":
                "\(settings.trustedProxies.isEmpty ? "none" : settings.trustedProxies.map(\.description).joined(separator: " "))",
            "session_lifetime": "\(policy.sessionLifetime)",
            "session_idle_timeout": "\(policy.sessionIdleTimeout)",
            "metrics_token": "\(settings.metricsToken == nil ? "none (open)" : "set")",
            "session_cookie_domain": "\(settings.sessionCookieDomain ?? "none (this host only)")",
            "allowed_redirect_hosts": "\(settings.redirectHostsSummary)",
        ]
    }

    /// `ALLOWED_REDIRECT_HOSTS` for the summary, with a warning for each host a session cookie of
    /// `SESSION_COOKIE_DOMAIN` never reaches: an application there behind the portal would send
    /// its people back to the login page after every login.
    var redirectHostsSummary: String {
        guard !allowedRedirectHosts.isEmpty else { return "none" }
        let listed = allowedRedirectHosts.map(\.description).joined(separator: " ")
        guard let domain = sessionCookieDomain else { return listed }
        let outside = allowedRedirectHosts.filter { $0.host != domain && !$0.host.hasSuffix("." + domain) }
        guard !outside.isEmpty else { return listed }
        return listed
            + " (warning: outside SESSION_COOKIE_DOMAIN \(domain), so /auth/verify never sees the session there: "
            + outside.map(\.description).joined(separator: " ") + ")"
    }
}
