import Foundation
import Hummingbird
import HummingbirdTesting
import LatchkeyCore
import Testing

@testable import LatchkeyHTTP

@Suite("Cross-site requests and CORS")
struct CrossSiteTests {
    let production = HTTPOptions(
        secureCookies: true, allowedOrigins: ["https://app.example.com"], refuseCrossSite: true)

    @Test("state-changing cross-site requests are refused with 403; reads and allowed origins pass")
    func refused() async throws {
        try await TestService().test(options: production) { client in
            var headers = form(["email": "bob@example.com", "password": "b4l0u"])
            headers.0[.init("Sec-Fetch-Site")!] = "cross-site"
            try await client.send(.post, "/users", headers).expectError(.forbidden)

            headers = form(["email": "bob@example.com", "password": "b4l0u"])
            headers.0[.origin] = "https://evil.example.net"
            try await client.send(.post, "/users", headers).expectError(.forbidden)
            // Nothing was registered by the refused requests.
            #expect(
                try await client.send(.post, "/sessions", form(["email": "bob@example.com", "password": "b4l0u"]))
                    .status == .unauthorized)

            headers = form(["email": "bob@example.com", "password": "b4l0u"])
            headers.0[.origin] = "https://app.example.com"
            headers.0[.init("Sec-Fetch-Site")!] = "same-site"
            #expect(try await client.send(.post, "/users", headers).status == .ok)
            // Without Origin or Sec-Fetch-Site (curl, a backend) the request is not cross-site.
            #expect(
                try await client.send(.post, "/sessions", form(["email": "bob@example.com", "password": "b4l0u"]))
                    .status == .ok)
            var read = try await client.execute(
                uri: "/", method: .get, headers: [.origin: "https://evil.example.net"], body: nil)
            #expect(read.status == .ok)
            read = try await client.execute(
                uri: "/", method: .get, headers: [.init("Sec-Fetch-Site")!: "cross-site"], body: nil)
            #expect(read.status == .ok)
        }
    }

    @Test("development accepts cross-site requests")
    func development() async throws {
        try await TestService().test { client in
            var headers = form(["email": "bob@example.com", "password": "b4l0u"])
            headers.0[.init("Sec-Fetch-Site")!] = "cross-site"
            headers.0[.origin] = "https://elsewhere.example.net"
            let response = try await client.send(.post, "/users", headers)
            #expect(response.status == .ok)
        }
    }

    @Test("CORS with credentials is answered for allowed origins only")
    func cors() async throws {
        try await TestService().test(options: production) { client in
            let preflight = try await client.execute(
                uri: "/sessions", method: .options,
                headers: [.origin: "https://app.example.com", .accessControlRequestMethod: "POST"], body: nil)
            #expect(preflight.headers[.accessControlAllowOrigin] == "https://app.example.com")
            #expect(preflight.headers[.accessControlAllowCredentials] == "true")
            let evil = try await client.execute(
                uri: "/profile", method: .get, headers: [.origin: "https://evil.example.net"], body: nil)
            #expect(evil.headers[.accessControlAllowOrigin] == nil)
            #expect(evil.headers[.accessControlAllowCredentials] == nil)
            let allowed = try await client.execute(
                uri: "/", method: .get, headers: [.origin: "https://app.example.com"], body: nil)
            #expect(allowed.headers[.accessControlAllowOrigin] == "https://app.example.com")
        }
    }
}

@Suite("Per-client limit")
struct ClientLimitTests {
    @Test("networks: addresses, CIDR ranges, IPv6, IPv4-mapped IPv6; bad text refused")
    func networks() throws {
        let v4 = try #require(IPNetwork("10.0.0.0/8"))
        #expect(v4.contains("10.1.2.3"))
        #expect(v4.contains("::ffff:10.1.2.3"))
        #expect(!v4.contains("11.0.0.1"))
        let v6 = try #require(IPNetwork("2001:db8::/32"))
        #expect(v6.contains("2001:db8:1::5"))
        #expect(!v6.contains("2001:db9::1"))
        #expect(try #require(IPNetwork("127.0.0.1/32")).contains("127.0.0.1"))
        let loopback = try #require(IPNetwork("127.0.0.1"))
        #expect(!loopback.contains("127.0.0.2"))
        for bad in ["", "10.0.0.0/33", "example.com", "10.0.0/8", "::/129"] {
            #expect(IPNetwork(bad) == nil, "\(bad)")
        }
    }

    @Test("X-Forwarded-For is believed only from trusted proxies; the rightmost untrusted hop is the client")
    func resolver() throws {
        let resolver = ClientAddressResolver(trustedProxies: [try #require(IPNetwork("10.0.0.0/8"))])
        #expect(resolver.clientAddress(peer: "203.0.113.9", forwardedFor: ["1.2.3.4"]) == "203.0.113.9")
        #expect(resolver.clientAddress(peer: "10.0.0.2", forwardedFor: ["1.2.3.4"]) == "1.2.3.4")
        #expect(resolver.clientAddress(peer: "10.0.0.2", forwardedFor: ["6.6.6.6, 1.2.3.4, 10.0.0.7"]) == "1.2.3.4")
        #expect(resolver.clientAddress(peer: "10.0.0.2", forwardedFor: ["6.6.6.6", "1.2.3.4"]) == "1.2.3.4")
        #expect(resolver.clientAddress(peer: "10.0.0.2", forwardedFor: []) == "10.0.0.2")
    }

    @Test("over the limit a client gets 429 with Retry-After; other clients and routes are not affected")
    func limit() async throws {
        let options = HTTPOptions(rateLimitPerMinute: 3, trustedProxies: [try #require(IPNetwork("127.0.0.1"))])
        try await TestService().test(options: options, live: true) { client in
            func login(from address: String) async throws -> TestResponse {
                var body = form(["email": "bob@example.com", "password": "b4l0u"])
                body.0[.init("X-Forwarded-For")!] = address
                return try await client.send(.post, "/sessions", body)
            }
            for _ in 0..<3 {
                #expect(try await login(from: "198.51.100.7").status == .unauthorized)
            }
            let limited = try await login(from: "198.51.100.7")
            limited.expectError(.tooManyRequests)
            let retryAfter = try #require(limited.headers[.retryAfter].flatMap { Int($0) })
            #expect((1...60).contains(retryAfter))
            #expect(try await login(from: "198.51.100.8").status == .unauthorized)
            #expect(try await client.send(.get, "/").status == .ok)
        }
    }
}
