import Foundation
import LatchkeyHTTP
import Testing

@testable import LatchkeyApp

@Suite("The HTTP settings: cookie name, metrics in production, PUBLIC_URL")
struct HTTPSettingsTests {
    static let production = [
        "LATCHKEY_ENV": "production", "RESET_TOKEN_DELIVERY": "response", "ALLOW_RESET_TOKEN_IN_RESPONSE": "true",
        "METRICS_TOKEN": "metrics-t0ken",
    ]

    static func load(_ environment: [String: String]) async throws -> Settings {
        try Settings.load(
            from: await Settings.reader(flags: [:], environment: environment, dotEnvPath: "/nonexistent/.env"))
    }

    @Test("the cookie is session_id in development and __Host-session_id in production")
    func cookieNames() async throws {
        #expect(try await Self.load([:]).sessionCookieName == "session_id")
        #expect(try await Self.load(Self.production).sessionCookieName == "__Host-session_id")
        let custom = try await Self.load(Self.production.merging(["SESSION_COOKIE_NAME": "__Secure-sid"]) { $1 })
        #expect(custom.sessionCookieName == "__Secure-sid")
        #expect(try await Self.load(["SESSION_COOKIE_NAME": "custom_sid"]).sessionCookieName == "custom_sid")
    }

    @Test(
        "cookie names that browsers would drop, or that production forbids, stop start-up",
        arguments: [
            ["SESSION_COOKIE_NAME": "__Host-sid"],  // without Secure
            ["SESSION_COOKIE_NAME": "__Secure-sid", "SESSION_COOKIE_SECURE": "false"],
            ["SESSION_COOKIE_NAME": "sid;x"], ["SESSION_COOKIE_NAME": "s id"], ["SESSION_COOKIE_NAME": "sid=1"],
            production.merging(["SESSION_COOKIE_NAME": "session_id"]) { $1 },
        ]
    )
    func refusedCookieNames(environment: [String: String]) async throws {
        let error = await #expect(throws: ConfigurationError.self) { _ = try await Self.load(environment) }
        #expect(error?.description.hasPrefix("SESSION_COOKIE_NAME:") == true)
    }

    @Test("SESSION_COOKIE_DOMAIN: a domain, __Secure-session_id in production, no __Host- name, PUBLIC_URL inside it")
    func cookieDomain() async throws {
        let withDomain = Self.production.merging([
            "SESSION_COOKIE_DOMAIN": ".Example.com", "PUBLIC_URL": "https://auth.example.com",
        ]) { $1 }
        let settings = try await Self.load(withDomain)
        #expect(settings.sessionCookieDomain == "example.com")
        #expect(settings.sessionCookieName == "__Secure-session_id")
        #expect(try await Self.load(["SESSION_COOKIE_DOMAIN": "example.com"]).sessionCookieName == "session_id")
        #expect(try await Self.load([:]).sessionCookieDomain == nil)
        let refusals: [([String: String], String)] = [
            (withDomain.merging(["SESSION_COOKIE_NAME": "__Host-sid"]) { $1 }, "SESSION_COOKIE_NAME:"),
            (withDomain.merging(["PUBLIC_URL": "https://auth.example.net"]) { $1 }, "SESSION_COOKIE_DOMAIN:"),
            (withDomain.merging(["PUBLIC_URL": "https://badexample.com"]) { $1 }, "SESSION_COOKIE_DOMAIN:"),
            (["SESSION_COOKIE_DOMAIN": "com"], "SESSION_COOKIE_DOMAIN:"),
            (["SESSION_COOKIE_DOMAIN": "example.com:443"], "SESSION_COOKIE_DOMAIN:"),
            (["SESSION_COOKIE_DOMAIN": "127.0.0.1"], "SESSION_COOKIE_DOMAIN:"),
            (["SESSION_COOKIE_DOMAIN": "exa mple.com"], "SESSION_COOKIE_DOMAIN:"),
        ]
        for (environment, prefix) in refusals {
            let error = await #expect(throws: ConfigurationError.self) { _ = try await Self.load(environment) }
            #expect(error?.description.hasPrefix(prefix) == true, "\(environment)")
        }
    }

    @Test("the security summary names the cookie domain and the redirect hosts, warning of hosts outside it")
    func redirectHostsSummary() async throws {
        let settings = try await Self.load([
            "SESSION_COOKIE_DOMAIN": "example.com",
            "ALLOWED_REDIRECT_HOSTS": "app.example.com, .example.com, wiki.example.org:8443",
        ])
        #expect(settings.securitySummary["session_cookie_domain"] == "example.com")
        #expect(
            settings.securitySummary["allowed_redirect_hosts"]
                == "app.example.com .example.com wiki.example.org:8443 (warning: outside SESSION_COOKIE_DOMAIN example.com, so /auth/verify never sees the session there: wiki.example.org:8443)"
        )
        #expect(
            try await Self.load(["ALLOWED_REDIRECT_HOSTS": "app.example.com"]).redirectHostsSummary == "app.example.com"
        )
        #expect(try await Self.load([:]).securitySummary["allowed_redirect_hosts"] == "none")
        let refused = await #expect(throws: ConfigurationError.self) {
            _ = try await Self.load(["ALLOWED_REDIRECT_HOSTS": "app.example.com, .com"])
        }
        #expect(refused?.description.hasPrefix("ALLOWED_REDIRECT_HOSTS: '.com'") == true)
    }

    @Test("production needs a metrics token, unless metrics are off")
    func metrics() async throws {
        var open = Self.production
        open["METRICS_TOKEN"] = nil
        let error = await #expect(throws: ConfigurationError.self) { _ = try await Self.load(open) }
        #expect(error?.description.hasPrefix("METRICS_TOKEN:") == true)
        open["METRICS_ENABLED"] = "false"
        #expect(try await Self.load(open).metricsEnabled == false)
        #expect(try await Self.load([:]).metricsEnabled)
    }

    @Test(
        "PUBLIC_URL gives the service's origin",
        arguments: [
            ("https://auth.example.com", "https://auth.example.com"),
            ("http://LOCALHOST:8080", "http://localhost:8080"),
            ("https://example.com/auth", "https://example.com"),
            ("HTTPS://example.com:443/a/b", "https://example.com:443"),
        ])
    func publicURL(url: String, origin: String) async throws {
        #expect(try await Self.load(["PUBLIC_URL": url]).publicOrigin == origin)
    }

    @Test(
        "PUBLIC_URL values that are not a service's URL stop start-up",
        arguments: [
            "https://auth.example.com/", "ftp://example.com", "https://example.com?x=1", "https://example.com#f",
            "https://user:pw@example.com", "example.com", "https://", "/auth",
        ])
    func refusedPublicURLs(url: String) async throws {
        let error = await #expect(throws: ConfigurationError.self) { _ = try await Self.load(["PUBLIC_URL": url]) }
        #expect(error?.description.hasPrefix("PUBLIC_URL:") == true)
    }

    @Test("the connection timeouts default to 10, 10, 60 and 15 seconds, and are read")
    func connectionTimeouts() async throws {
        #expect(try await Self.load([:]).connectionTimeouts == ConnectionTimeouts())
        let set = try await Self.load([
            "HTTP_HEADER_TIMEOUT": "3", "HTTP_BODY_TIMEOUT": "4", "HTTP_IDLE_TIMEOUT": "5", "SHUTDOWN_TIMEOUT": "6",
        ])
        #expect(
            set.connectionTimeouts
                == ConnectionTimeouts(header: .seconds(3), body: .seconds(4), idle: .seconds(5), shutdown: .seconds(6)))
    }

    @Test(
        "a timeout that is not a whole number of seconds in its range stops start-up",
        arguments: [
            ("HTTP_HEADER_TIMEOUT", "0"), ("HTTP_HEADER_TIMEOUT", "abc"), ("HTTP_BODY_TIMEOUT", "-1"),
            ("HTTP_IDLE_TIMEOUT", "1.5"), ("SHUTDOWN_TIMEOUT", "3601"),
        ])
    func refusedTimeouts(name: String, value: String) async throws {
        let error = await #expect(throws: ConfigurationError.self) { _ = try await Self.load([name: value]) }
        #expect(error?.description.hasPrefix("\(name):") == true)
    }
}
