import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import LatchkeyCore
import LatchkeyTestSupport
import Testing

@testable import LatchkeyHTTP

@Suite("Forward auth: /auth/verify fails closed and sends the browser to log in")
struct ForwardAuthTests {
    static var options: HTTPOptions {
        var options = HTTPOptions()
        options.redirectRule = RedirectRule(
            hosts: ["app.example.com", ".example.org"].compactMap(AllowedRedirectHost.init), allowsPlainHTTP: false)
        options.loginPageURL = "https://auth.example.com/ui/login"
        return options
    }

    static func verify(
        _ client: any TestClientProtocol, _ query: String = "", cookie: String? = nil, headers: HTTPFields = [:]
    ) async throws -> TestResponse {
        var headers = headers
        if let cookie { headers[.cookie] = "session_id=\(cookie)" }
        return try await client.execute(uri: "/auth/verify" + query, method: .get, headers: headers)
    }

    @Test("only 204 or 401: every identity header on a 204, a storage failure is a 401, aal is 1 or 2 once")
    func failsClosed() async throws {
        let service = try await TestService()
        try await service.test(options: Self.options) { client in
            let token = try await client.logIn()
            let live = try await Self.verify(client, cookie: token)
            #expect(live.status == .noContent)
            for name in ["X-Latchkey-User-Id", "X-Latchkey-Email", "X-Latchkey-AAL"] {
                #expect(live.headers[HTTPField.Name(name)!] != nil, "\(name)")
            }
            #expect(try await Self.verify(client, "?aal=1", cookie: token).status == .noContent)
            #expect(try await Self.verify(client, "?other=x", cookie: token).status == .noContent)
            for query in [
                "?aal=2", "?aal=1&aal=2", "?aal=2&aal=1", "?aal=1&aal=1", "?aal=3", "?aal=0", "?aal=", "?aal=x",
                "?aal=01x",
            ] {
                #expect(try await Self.verify(client, query, cookie: token).status == .unauthorized, "\(query)")
            }
            // Cookies that are not sessions; Authorization is never read.
            let cookies = [
                "", "x", String(repeating: "a", count: 10_000), token + "x", "\"" + token, SecretToken.generate(),
            ]
            for value in cookies {
                #expect(try await Self.verify(client, cookie: value).status == .unauthorized)
            }
            let bearer = try await Self.verify(client, headers: [.authorization: "Bearer \(token)"])
            #expect(bearer.status == .unauthorized)
            // No agent, path or method gets around it.
            for agent in ["", "kube-probe/1.29", "GoogleHC/1.0", "ELB-HealthChecker/2.0"] {
                #expect(try await Self.verify(client, headers: [.userAgent: agent]).status == .unauthorized)
            }
            for path in ["/auth/verify/", "/auth/verify/..", "/auth//verify", "/AUTH/VERIFY"] {
                let other = try await client.execute(uri: path, method: .get, headers: [.userAgent: "x"])
                #expect(other.status != .noContent, "\(path)")
            }
            await service.store.setFailing(true)
            let outage = try await Self.verify(client, cookie: token)
            #expect(outage.status == .unauthorized)
            #expect(outage.headers[HTTPField.Name("X-Latchkey-Email")!] == nil)
            await service.store.setFailing(false)
        }
    }

    @Test("a 401 sends a GET or HEAD of an allowed URL to the login page with rd; anything else without it")
    func location() async throws {
        let service = try await TestService()
        try await service.test(options: Self.options) { client in
            let original = HTTPField.Name("X-Original-URL")!
            let method = HTTPField.Name("X-Original-Method")!
            let url = "https://App.example.com/docs/a b?x=1&y=%2F#top"
            let allowed = "https://app.example.com/docs?x=1&y=%2F"
            var response = try await Self.verify(client, headers: [original: allowed])
            #expect(response.status == .unauthorized)
            #expect(
                response.headers[.location]
                    == "https://auth.example.com/ui/login?rd=https%3A%2F%2Fapp.example.com%2Fdocs%3Fx%3D1%26y%3D%252F")
            response = try await Self.verify(client, headers: [original: allowed, method: "HEAD"])
            #expect(response.headers[.location]?.contains("?rd=") == true)
            for (headers, name) in [
                ([original: allowed, method: "POST"], "a POST"),
                ([original: url], "a URL with a space"),
                ([original: "https://evil.example/"], "another host"),
                ([original: "//evil.example"], "a relative URL"),
                ([original: "not a url"], "no URL"),
            ] as [(HTTPFields, String)] {
                let refused = try await Self.verify(client, headers: headers)
                #expect(refused.status == .unauthorized)
                #expect(refused.headers[.location] == "https://auth.example.com/ui/login", "\(name)")
            }
            // Characters browsers send as they are in a query are encoded, so the URL is come back to.
            let loose = try await Self.verify(client, headers: [original: "https://app.example.com/list?ids[]=1&q=a|b"])
            #expect(
                loose.headers[.location]
                    == "https://auth.example.com/ui/login?rd=https%3A%2F%2Fapp.example.com%2Flist%3Fids%255B%255D%3D1%26q%3Da%257Cb"
            )
            #expect(
                ForwardAuth.encodingLooseCharacters("https://a[b].example.com/x\\y?{}^`\"<>")
                    == "https://a[b].example.com/x%5Cy?%7B%7D%5E%60%22%3C%3E")
            // Without X-Original-URL: as before, no Location.
            #expect(try await Self.verify(client).headers[.location] == nil)
            // Caddy's forward_auth headers.
            let caddy: HTTPFields = [
                HTTPField.Name("X-Forwarded-Proto")!: "https", HTTPField.Name("X-Forwarded-Host")!: "wiki.example.org",
                HTTPField.Name("X-Forwarded-Uri")!: "/page?id=7", HTTPField.Name("X-Forwarded-Method")!: "GET",
            ]
            #expect(
                try await Self.verify(client, headers: caddy).headers[.location]
                    == "https://auth.example.com/ui/login?rd=https%3A%2F%2Fwiki.example.org%2Fpage%3Fid%3D7")
            // A one-factor session asked for step-up: the login page with aal=2.
            let token = try await client.logIn()
            let stepUp = try await Self.verify(client, "?aal=2", cookie: token, headers: [original: allowed])
            #expect(stepUp.status == .unauthorized)
            #expect(stepUp.headers[.location]?.hasSuffix("&aal=2") == true)
        }
        // Without the pages (no login page URL) there is never a Location.
        try await service.test { client in
            let response = try await Self.verify(
                client, headers: [HTTPField.Name("X-Original-URL")!: "https://app.example.com/"])
            #expect(response.status == .unauthorized && response.headers[.location] == nil)
        }
    }

    @Test("SESSION_COOKIE_DOMAIN puts Domain on the session cookie, set and cleared, between Path and Secure")
    func cookieDomain() async throws {
        var options = HTTPOptions(secureCookies: true, sessionCookieName: "__Secure-session_id")
        options.sessionCookieDomain = "example.com"
        let service = try await TestService()
        try await service.test(options: options) { client in
            _ = try await client.send(.post, "/users", form(["email": "ada@example.com", "password": "b4l0u"]))
            let login = try await client.send(
                .post, "/sessions", form(["email": "ada@example.com", "password": "b4l0u"]))
            let cookie = try #require(login.headers[.setCookie])
            #expect(cookie.hasPrefix("__Secure-session_id="))
            #expect(cookie.hasSuffix("; Path=/; Domain=example.com; Secure; HttpOnly; SameSite=Lax"))
            let token = String(cookie.dropFirst("__Secure-session_id=".count).prefix { $0 != ";" })
            let verify = try await client.execute(
                uri: "/auth/verify", method: .get, headers: [.cookie: "__Secure-session_id=\(token)"])
            #expect(verify.status == .noContent)
            let out = try await client.execute(
                uri: "/sessions", method: .delete, headers: [.cookie: "__Secure-session_id=\(token)"])
            #expect(
                out.headers[.setCookie]
                    == "__Secure-session_id=; Max-Age=0; Path=/; Domain=example.com; Secure; HttpOnly; SameSite=Lax")
        }
    }
}
