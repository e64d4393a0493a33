import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import LatchkeyCore
import LatchkeyHTTP
import LatchkeyTestSupport
import NIOCore
import Testing

@Suite("The HTTP edges")
struct HTTPEdgesTests {
    @Test(
        "every GET route answers HEAD with the same status and headers and no body",
        arguments: ["/", "/healthz", "/readyz", "/profile", "/auth/verify", "/openapi.json", "/metrics"])
    func head(path: String) async throws {
        let service = try await TestService()
        let options = HTTPOptions(
            operations: Operations(metrics: { Array("m 1\n".utf8) }, openAPIDocument: Array("{}".utf8)))
        try await service.test(options: options) { client in
            let token = try await client.logIn()
            for cookie in [token, nil] {
                let get = try await client.send(.get, path, cookie: cookie)
                let head = try await client.send(.head, path, cookie: cookie)
                #expect(head.status == get.status)
                #expect(head.body.readableBytes == 0)
                for name in [HTTPField.Name.contentType, .cacheControl, HTTPField.Name("X-Latchkey-Email")!] {
                    #expect(head.headers[name] == get.headers[name], "\(name) on HEAD \(path)")
                }
            }
        }
    }

    @Test("Allow lists HEAD wherever GET is allowed")
    func allow() async throws {
        let service = try await TestService()
        try await service.test { client in
            let response = try await client.send(.post, "/profile")
            #expect(response.status == .methodNotAllowed)
            #expect(response.headers[.allow] == "GET, HEAD")
        }
    }

    @Test("unknown fields are ignored, whatever their type or how often they repeat")
    func unknownFields() async throws {
        let service = try await TestService()
        try await service.test { client in
            let json = Array(#"{"email": "a@example.com", "password": "b4l0u", "x": [1], "y": {"z": 2}, "n": 3}"#.utf8)
            let fromJSON = try await client.send(.post, "/users", raw(json, "application/json"))
            #expect(fromJSON.status == .ok)
            let form = Array("email=b%40example.com&password=b4l0u&x=1&x=2&y=".utf8)
            let fromForm = try await client.send(.post, "/users", raw(form, "application/x-www-form-urlencoded"))
            #expect(fromForm.status == .ok)
        }
    }

    @Test(
        "a field the route reads, sent twice, is a 400 in JSON and in forms",
        arguments: [
            (#"{"email": "a@example.com", "email": "c@example.com", "password": "b4l0u"}"#, "application/json"),
            (#"{"email": "a@example.com", "password": "b4l0u", "password": "x"}"#, "application/json"),
            (#"{"email": "a@example.com", "password": "b4l0u", "em\u0061il": "x"}"#, "application/json"),
            ("email=a%40example.com&email=c%40example.com&password=b4l0u", "application/x-www-form-urlencoded"),
            ("email=a%40example.com&password=b4l0u&password=b4l0u", "application/x-www-form-urlencoded"),
        ])
    func repeatedKnownField(body: String, contentType: String) async throws {
        let service = try await TestService()
        try await service.test { client in
            let response = try await client.send(.post, "/users", raw(Array(body.utf8), contentType))
            response.expectError(.badRequest)
            #expect(response.json?["message"]?.hasSuffix("must be sent once") == true)
        }
        #expect(try await service.store.findUser(by: .email("a@example.com")) == nil)
    }

    @Test("a known field that is not a string is still a 400; null is missing")
    func nonStringKnownField() async throws {
        let service = try await TestService()
        try await service.test { client in
            try await client.send(
                .post, "/users", raw(Array(#"{"email": 1, "password": "x"}"#.utf8), "application/json")
            )
            .expectError(.badRequest, "email must be a string")
            try await client.send(
                .post, "/users", raw(Array(#"{"email": null, "password": "x"}"#.utf8), "application/json")
            )
            .expectError(.badRequest, "missing field: email")
        }
    }

    @Test(
        "a JSON body sent with a form content type (curl -d) gets a 400 that names the content type to send",
        arguments: [
            #"{"email": "ada@example.com", "password": "b4l0u"}"#, #"  [{"email": "a"}]"#, "\n{\"email\":1}",
        ])
    func jsonSentAsForm(body: String) async throws {
        let service = try await TestService()
        try await service.test { client in
            try await client.send(.post, "/users", raw(Array(body.utf8), "application/x-www-form-urlencoded"))
                .expectError(
                    .badRequest,
                    "missing field: email (the body is JSON but was sent as a form: "
                        + "send it with Content-Type: application/json)")
            // A real form that lacks the field keeps the short message, and nothing was stored.
            try await client.send(.post, "/users", form(["password": "b4l0u"]))
                .expectError(.badRequest, "missing field: email")
        }
        #expect(try await service.store.findUser(by: .email("ada@example.com")) == nil)
    }

    @Test("a quoted cookie value is read; of several, the first that names a live session is used")
    func cookies() async throws {
        let service = try await TestService()
        try await service.test { client in
            let token = try await client.logIn()
            let stale = SecretToken.generate()
            for header in [
                "session_id=\"\(token)\"", "session_id=garbage; session_id=\(token)",
                "session_id=\(stale); other=1; session_id=\(token)",
            ] {
                let response = try await client.execute(uri: "/profile", method: .get, headers: [.cookie: header])
                #expect(response.status == .ok, "\(header)")
            }
            // A fifth value is not tried.
            let five = (Array(repeating: "session_id=\(stale)", count: 4) + ["session_id=\(token)"]).joined(
                separator: "; ")
            #expect(
                try await client.execute(uri: "/profile", method: .get, headers: [.cookie: five]).status == .forbidden)
        }
    }

    @Test("the configured cookie name is set, read by every route, and cleared at logout; the attribute order is fixed")
    func cookieName() async throws {
        let service = try await TestService()
        let options = HTTPOptions(secureCookies: true, sessionCookieName: "__Host-session_id")
        try await service.test(options: options) { client in
            _ = try await client.send(.post, "/users", form(["email": "ada@example.com", "password": "b4l0u"]))
            let login = try await client.send(
                .post, "/sessions", form(["email": "ada@example.com", "password": "b4l0u"]))
            let setCookie = try #require(login.headers[.setCookie])
            let token = try #require(setCookie.split(separator: ";").first?.split(separator: "=", maxSplits: 1).last)
            #expect(setCookie == "__Host-session_id=\(token); Max-Age=2592000; Path=/; Secure; HttpOnly; SameSite=Lax")
            let named: HTTPFields = [.cookie: "__Host-session_id=\(token)"]
            #expect(try await client.execute(uri: "/profile", method: .get, headers: named).status == .ok)
            #expect(try await client.execute(uri: "/auth/verify", method: .get, headers: named).status == .noContent)
            let unnamed: HTTPFields = [.cookie: "session_id=\(token)"]
            #expect(try await client.execute(uri: "/profile", method: .get, headers: unnamed).status == .forbidden)
            let logout = try await client.execute(uri: "/sessions", method: .delete, headers: named)
            #expect(logout.status == .found)
            #expect(
                logout.headers[.setCookie] == "__Host-session_id=; Max-Age=0; Path=/; Secure; HttpOnly; SameSite=Lax")
        }
    }

    @Test("metrics turned off answer 404")
    func metricsOff() async throws {
        let service = try await TestService()
        try await service.test(options: HTTPOptions(operations: Operations(metrics: nil))) { client in
            try await client.send(.get, "/metrics").expectError(.notFound)
        }
    }

    @Test(
        "production accepts same-origin requests and its own origin; same-site and other origins are refused",
        arguments: [
            ([HTTPField.Name("Sec-Fetch-Site")!: "same-origin"], true),
            ([.origin: "https://auth.example.com"], true),
            ([HTTPField.Name("Sec-Fetch-Site")!: "same-origin", .origin: "https://auth.example.com"], true),
            ([.origin: "https://app.example.com"], true),  // in ALLOWED_ORIGINS
            ([HTTPField.Name("Sec-Fetch-Site")!: "same-site", .origin: "https://other.example.com"], false),
            ([HTTPField.Name("Sec-Fetch-Site")!: "same-site"], false),
            ([HTTPField.Name("Sec-Fetch-Site")!: "cross-site"], false),
            ([.origin: "https://evil.example"], false),
            ([.origin: "http://auth.example.com"], false),  // another scheme is another origin
            ([:], true),  // a backend sends neither header
        ] as [([HTTPField.Name: String], Bool)]
    )
    func sameOrigin(headers: [HTTPField.Name: String], accepted: Bool) async throws {
        let service = try await TestService()
        let options = HTTPOptions(
            allowedOrigins: ["https://app.example.com"], refuseCrossSite: true, publicOrigin: "https://auth.example.com"
        )
        try await service.test(options: options) { client in
            var fields: HTTPFields = [.contentType: "application/x-www-form-urlencoded"]
            for (name, value) in headers { fields[name] = value }
            let response = try await client.execute(
                uri: "/users", method: .post, headers: fields,
                body: ByteBuffer(string: "email=ada%40example.com&password=b4l0u"))
            #expect((response.status == .ok) == accepted, "\(headers)")
            if !accepted { #expect(response.status == .forbidden) }
        }
    }

    @Test("a refused logout still clears the stale cookie")
    func refusedLogoutClearsCookie() async throws {
        let service = try await TestService()
        try await service.test { client in
            let stale = SecretToken.generate()
            let response = try await client.send(.delete, "/sessions", cookie: stale)
            response.expectError(.forbidden)
            #expect(response.headers[.setCookie] == "session_id=; Max-Age=0; Path=/; HttpOnly; SameSite=Lax")
        }
    }

    @Test(
        "a body with a Content-Encoding other than identity is a 415, whatever it holds",
        arguments: ["gzip", "deflate", "br", "identity, gzip", "x-unknown"])
    func contentEncoding(encoding: String) async throws {
        let service = try await TestService()
        try await service.test { client in
            var (headers, body) = form(["email": "ada@example.com", "password": "b4l0u"])
            headers[.contentEncoding] = encoding
            let response = try await client.execute(uri: "/users", method: .post, headers: headers, body: body)
            response.expectError(.unsupportedMediaType)
            var identity = headers
            identity[.contentEncoding] = "identity"
            #expect(try await client.execute(uri: "/users", method: .post, headers: identity, body: body).status == .ok)
        }
    }
}
