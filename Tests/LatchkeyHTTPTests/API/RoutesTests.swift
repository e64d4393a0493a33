import Foundation
import Hummingbird
import HummingbirdTesting
import LatchkeyCore
import LatchkeyHTTP
import Testing

@Suite("The contract")
struct ContractTests {
    @Test("GET / welcomes, as JSON")
    func welcome() async throws {
        try await TestService().test { client in
            let response = try await client.send(.get, "/")
            #expect(response.status == .ok)
            #expect(response.headers[.contentType]?.hasPrefix("application/json") == true)
            #expect(response.json == ["message": "Bienvenue"])
        }
    }

    @Test("POST /users creates a user once", arguments: ["form", "json"])
    func register(encoding: String) async throws {
        try await TestService().test { client in
            let fields = ["email": "bob@me.com", "password": "mySuperPwd"]
            let body = encoding == "form" ? form(["email": "bob@me.com", "password": "mySuperPwd"]) : json(fields)
            let response = try await client.send(.post, "/users", body)
            #expect(response.status == .ok)
            #expect(response.json == ["email": "bob@me.com", "message": "user created"])
            let again = try await client.send(.post, "/users", body)
            again.expectError(.badRequest, "email already registered")
        }
    }

    @Test("POST /users echoes the normalised email and treats case variants as taken")
    func normalised() async throws {
        try await TestService().test { client in
            let response = try await client.send(.post, "/users", form(["email": "  Bob@Me.COM ", "password": "pw"]))
            #expect(response.json == ["email": "bob@me.com", "message": "user created"])
            let again = try await client.send(.post, "/users", json(["email": "BOB@me.com", "password": "pw"]))
            again.expectError(.badRequest, "email already registered")
        }
    }

    @Test("a form's + is a space and percent escapes decode, as browsers and requests encode them")
    func formEncoding() async throws {
        try await TestService().test { client in
            let raw: (HTTPFields, ByteBuffer) = (
                [.contentType: "application/x-www-form-urlencoded"],
                ByteBuffer(string: "email=ann%40example.com&password=s3cret+phrase%2B%C3%A9")
            )
            #expect(try await client.send(.post, "/users", raw).status == .ok)
            let login = try await client.send(
                .post,
                "/sessions",
                json(["email": "ann@example.com", "password": "s3cret phrase+é"])
            )
            #expect(login.status == .ok)
        }
    }

    @Test("POST /sessions logs in with the session cookie", arguments: ["form", "json"])
    func login(encoding: String) async throws {
        try await TestService().test { client in
            _ = try await client.send(.post, "/users", form(["email": "bob@me.com", "password": "b4l0u"]))
            let body =
                encoding == "form"
                ? form(["email": "bob@me.com", "password": "b4l0u"])
                : json(["email": "bob@me.com", "password": "b4l0u"])
            let response = try await client.send(.post, "/sessions", body)
            #expect(response.status == .ok)
            #expect(response.json == ["email": "bob@me.com", "message": "logged in"])
            let cookie = try #require(response.sessionCookie)
            #expect(cookie.value.count == 43)
            #expect(cookie.attributes["path"] == "/")
            #expect(cookie.attributes["httponly"] != nil)
            #expect(cookie.attributes["samesite"] == "Lax")
            #expect(cookie.attributes["max-age"] == "2592000")
            #expect(cookie.attributes["secure"] == nil)
        }
    }

    @Test("the cookie is Secure when configured, and Max-Age follows the session lifetime")
    func secureCookie() async throws {
        try await TestService(policy: AuthPolicy(sessionLifetime: 7200)).test(options: HTTPOptions(secureCookies: true))
        { client in
            _ = try await client.send(.post, "/users", form(["email": "bob@me.com", "password": "b4l0u"]))
            let response = try await client.send(
                .post, "/sessions", form(["email": "bob@me.com", "password": "b4l0u"]))
            let cookie = try #require(response.sessionCookie)
            #expect(cookie.attributes["secure"] != nil)
            #expect(cookie.attributes["max-age"] == "7200")
        }
    }

    @Test("POST /sessions is 401 for a wrong password or an unknown email")
    func loginFailures() async throws {
        try await TestService().test { client in
            _ = try await client.send(.post, "/users", form(["email": "bob@me.com", "password": "b4l0u"]))
            let wrong = try await client.send(.post, "/sessions", form(["email": "bob@me.com", "password": "nope"]))
            wrong.expectError(.unauthorized)
            #expect(wrong.sessionCookie == nil)
            let unknown = try await client.send(.post, "/sessions", form(["email": "eve@me.com", "password": "b4l0u"]))
            unknown.expectError(.unauthorized)
            #expect(unknown.json == wrong.json)
        }
    }

    @Test("GET /profile answers the email for a live session and 403 otherwise")
    func profile() async throws {
        try await TestService().test { client in
            let token = try await client.logIn()
            let response = try await client.send(.get, "/profile", cookie: token)
            #expect(response.status == .ok)
            #expect(response.json == ["email": "bob@example.com"])
            try await client.send(.get, "/profile").expectError(.forbidden)
            try await client.send(.get, "/profile", cookie: "not-a-token").expectError(.forbidden)
            try await client.send(.get, "/profile", cookie: String(repeating: "A", count: 43)).expectError(.forbidden)
            try await client.send(.get, "/profile", cookie: "").expectError(.forbidden)
        }
    }

    @Test("DELETE /sessions ends that session with a 302 to / and clears the cookie")
    func logout() async throws {
        try await TestService().test { client in
            let token = try await client.logIn()
            let other = try await client.logIn(register: false)
            let response = try await client.send(.delete, "/sessions", cookie: token)
            #expect(response.status == .found)
            #expect(response.headers[.location] == "/")
            let cleared = try #require(response.sessionCookie)
            #expect(cleared.value.isEmpty)
            #expect(cleared.attributes["max-age"] == "0")
            #expect(cleared.attributes["path"] == "/")
            try await client.send(.get, "/profile", cookie: token).expectError(.forbidden)
            try await client.send(.delete, "/sessions", cookie: token).expectError(.forbidden)
            #expect(try await client.send(.get, "/profile", cookie: other).status == .ok)
        }
    }

    @Test("DELETE /sessions without a cookie is 403")
    func logoutWithoutCookie() async throws {
        try await TestService().test { client in
            try await client.send(.delete, "/sessions").expectError(.forbidden)
        }
    }

    @Test("POST /reset_password gives a token for registered emails and 403 otherwise")
    func resetToken() async throws {
        try await TestService().test { client in
            _ = try await client.send(.post, "/users", form(["email": "bob@me.com", "password": "b4l0u"]))
            let response = try await client.send(.post, "/reset_password", json(["email": "Bob@Me.com"]))
            #expect(response.status == .ok)
            let body = try #require(response.json)
            #expect(body.keys.sorted() == ["email", "reset_token"])
            #expect(body["email"] == "bob@me.com")
            #expect(body["reset_token"]?.count == 43)
            try await client.send(.post, "/reset_password", form(["email": "eve@me.com"])).expectError(.forbidden)
        }
    }

    @Test("PUT /reset_password updates the password with a valid token, once", arguments: ["form", "json"])
    func updatePassword(encoding: String) async throws {
        try await TestService().test { client in
            let session = try await client.logIn("bob@me.com", "b4l0u")
            let token = try #require(
                try await client.send(.post, "/reset_password", form(["email": "bob@me.com"])).json?["reset_token"])
            let fields = ["email": "bob@me.com", "reset_token": token, "new_password": "t4rt1fl3tt3"]
            let body =
                encoding == "form"
                ? form(["email": "bob@me.com", "reset_token": token, "new_password": "t4rt1fl3tt3"]) : json(fields)
            let response = try await client.send(.put, "/reset_password", body)
            #expect(response.status == .ok)
            #expect(response.json == ["email": "bob@me.com", "message": "Password updated"])
            try await client.send(.put, "/reset_password", body).expectError(.forbidden)
            // RESET_ENDS_SESSIONS is false by default, as the original: the session still works.
            #expect(try await client.send(.get, "/profile", cookie: session).json == ["email": "bob@me.com"])
            try await client.send(.post, "/sessions", form(["email": "bob@me.com", "password": "b4l0u"])).expectError(
                .unauthorized)
            _ = try await client.logIn("bob@me.com", "t4rt1fl3tt3", register: false)
        }
    }

    @Test("PUT /reset_password is 403 for a wrong token or another email")
    func updatePasswordFailures() async throws {
        try await TestService().test { client in
            _ = try await client.send(.post, "/users", form(["email": "bob@me.com", "password": "b4l0u"]))
            _ = try await client.send(.post, "/users", form(["email": "eve@me.com", "password": "b4l0u"]))
            let token = try #require(
                try await client.send(.post, "/reset_password", form(["email": "bob@me.com"])).json?["reset_token"])
            try await client.send(
                .put, "/reset_password",
                form(["email": "bob@me.com", "reset_token": "wrong", "new_password": "x9q-pass"])
            )
            .expectError(.forbidden)
            try await client.send(
                .put, "/reset_password",
                form(["email": "eve@me.com", "reset_token": token, "new_password": "x9q-pass"])
            )
            .expectError(.forbidden)
            try await client.send(
                .put, "/reset_password",
                form(["email": "zed@me.com", "reset_token": token, "new_password": "x9q-pass"])
            )
            .expectError(.forbidden)
            _ = try await client.logIn("bob@me.com", "b4l0u", register: false)
        }
    }
}

@Suite("Bad input")
struct BadInputTests {
    @Test(
        "a missing field is a 400 that names it",
        arguments: [
            (HTTPRequest.Method.post, "/users", ["email": "a@b.c"], "password"),
            (.post, "/users", ["password": "x"], "email"),
            (.post, "/sessions", ["email": "a@b.c"], "password"),
            (.post, "/sessions", [:], "email"),
            (.post, "/reset_password", [:], "email"),
            (.put, "/reset_password", ["email": "a@b.c", "new_password": "x"], "reset_token"),
            (.put, "/reset_password", ["email": "a@b.c", "reset_token": "x"], "new_password"),
            (.put, "/reset_password", ["reset_token": "x", "new_password": "x"], "email"),
        ]
    )
    func missingField(method: HTTPRequest.Method, path: String, fields: [String: String], missing: String) async throws
    {
        try await TestService().test { client in
            try await client.send(method, path, json(fields)).expectError(.badRequest, "missing field: \(missing)")
        }
    }

    @Test("an empty body with no content type is a missing field, not a 415")
    func emptyBody() async throws {
        try await TestService().test { client in
            try await client.send(.post, "/users").expectError(.badRequest, "missing field: email")
        }
    }

    @Test("another content type is a 415, whatever the body")
    func unsupportedMediaType() async throws {
        try await TestService().test { client in
            let binary: (HTTPFields, ByteBuffer) = ([.contentType: "image/png"], ByteBuffer(bytes: [0x89, 0xFF, 0x00]))
            try await client.send(.post, "/users", binary).expectError(.unsupportedMediaType)
            let body: (HTTPFields, ByteBuffer) = (
                [.contentType: "text/plain"], ByteBuffer(string: "email=a@b.c&password=x")
            )
            try await client.send(.post, "/users", body).expectError(.unsupportedMediaType)
            let noType: (HTTPFields, ByteBuffer) = ([:], ByteBuffer(string: "email=a@b.c&password=x"))
            try await client.send(.post, "/users", noType).expectError(.unsupportedMediaType)
        }
    }

    @Test("a content type with a charset parameter is accepted")
    func charset() async throws {
        try await TestService().test { client in
            let body: (HTTPFields, ByteBuffer) = (
                [.contentType: "application/x-www-form-urlencoded; charset=UTF-8"],
                ByteBuffer(string: "email=a%40b.c&password=x9q-pass")
            )
            let response = try await client.send(.post, "/users", body)
            #expect(response.json == ["email": "a@b.c", "message": "user created"])
        }
    }

    @Test("a body over 64 KiB is a 413 and creates nothing")
    func tooLarge() async throws {
        let service = try await TestService()
        try await service.test { client in
            let big = String(repeating: "x", count: 64 * 1024)
            try await client.send(.post, "/users", form(["email": "a@b.c", "password": big])).expectError(
                .contentTooLarge)
        }
        #expect(try await service.store.findUser(by: .email("a@b.c")) == nil)
    }

    @Test(
        "malformed bodies are 400s",
        arguments: [
            ("application/json", "{not json"),
            ("application/json", "[1, 2]"),
            ("application/json", "\"text\""),
            ("application/json", "{\"email\": 5, \"password\": \"x\"}"),
            ("application/json", "{\"email\": [\"a@b.c\"], \"password\": \"x\"}"),
            ("application/x-www-form-urlencoded", "email=%ZZ&password=x"),
        ]
    )
    func malformed(contentType: String, body: String) async throws {
        let service = try await TestService()
        try await service.test { client in
            let request: (HTTPFields, ByteBuffer) = ([.contentType: contentType], ByteBuffer(string: body))
            try await client.send(.post, "/users", request).expectError(.badRequest)
        }
    }

    @Test("a body that is not UTF-8 is a 400")
    func notUTF8() async throws {
        try await TestService().test { client in
            let request: (HTTPFields, ByteBuffer) = (
                [.contentType: "application/x-www-form-urlencoded"], ByteBuffer(bytes: [0x65, 0xFF, 0xFE, 0x3D])
            )
            try await client.send(.post, "/users", request).expectError(.badRequest)
        }
    }

    @Test(
        "malformed emails and unusable passwords are 400s with a reason",
        arguments: [
            (["email": "no-at-sign", "password": "x"], "email must contain exactly one @"),
            (["email": "@b.c", "password": "x"], "email must have a local part before the @"),
            (["email": "a@", "password": "x"], "email must have a domain after the @"),
            (["email": "a b@c.d", "password": "x"], "email must not contain white space"),
            (
                ["email": "a@exa\u{AD}mple.com", "password": "x"],
                "email must not contain invisible or control characters (U+00AD)"
            ),
            (["email": "x\u{FF20}evil.test@b.c", "password": "x"], "email must contain exactly one @"),
            (["email": "a@b.c", "password": ""], "password must not be empty"),
            (["email": "a@b.c", "password": "ab\u{0}cd"], "password must not contain control characters (U+0000)"),
            (["email": "a@b.c", "password": "tab\tcd"], "password must not contain control characters (U+0009)"),
            (
                ["email": "a@b.c", "password": String(repeating: "y", count: 257)],
                "password must be at most 256 characters"
            ),
        ]
    )
    func validation(fields: [String: String], message: String) async throws {
        let service = try await TestService()
        try await service.test { client in
            try await client.send(.post, "/users", json(fields)).expectError(.badRequest, message)
        }
        #expect(try await service.store.findUser(by: .email("a@b.c")) == nil)
    }

    @Test("a NUL byte in a form field is refused, not truncated")
    func nulInForm() async throws {
        try await TestService().test { client in
            let request: (HTTPFields, ByteBuffer) = (
                [.contentType: "application/x-www-form-urlencoded"],
                ByteBuffer(string: "email=a%40b.c&password=ab%00cd")
            )
            try await client.send(.post, "/users", request).expectError(.badRequest)
        }
    }

    @Test("an unknown path is a JSON 404 and a known path with another method a JSON 405")
    func routing() async throws {
        try await TestService().test { client in
            try await client.send(.get, "/nowhere").expectError(.notFound)
            let response = try await client.send(.patch, "/users")
            response.expectError(.methodNotAllowed)
            #expect(response.headers[.allow] == "POST")
            #expect(try await client.send(.get, "/sessions").headers[.allow] == "POST, DELETE")
        }
    }

    @Test("a storage failure is a 503 with a JSON message")
    func storageFailure() async throws {
        let service = try await TestService()
        try await service.test { client in
            let token = try await client.logIn()
            await service.store.setFailing(true)
            try await client.send(.post, "/users", form(["email": "new@b.c", "password": "x9q-pass"])).expectError(
                .serviceUnavailable)
            try await client.send(.post, "/sessions", form(["email": "bob@example.com", "password": "b4l0u"]))
                .expectError(.serviceUnavailable)
            try await client.send(.get, "/profile", cookie: token).expectError(.serviceUnavailable)
            try await client.send(.delete, "/sessions", cookie: token).expectError(.serviceUnavailable)
            try await client.send(.post, "/reset_password", form(["email": "bob@example.com"]))
                .expectError(.serviceUnavailable)
            try await client.send(
                .put,
                "/reset_password",
                form([
                    "email": "bob@example.com", "reset_token": String(repeating: "A", count: 43),
                    "new_password": "x9q-pass",
                ])
            ).expectError(.serviceUnavailable)
            #expect(try await client.send(.get, "/").status == .ok)
        }
    }

    @Test("/healthz answers while the process runs; /readyz only while the database answers")
    func healthAndReadiness() async throws {
        let service = try await TestService()
        try await service.test { client in
            #expect(try await client.send(.get, "/healthz").status == .ok)
            #expect(try await client.send(.get, "/readyz").status == .ok)
            await service.store.setFailing(true)
            #expect(try await client.send(.get, "/healthz").status == .ok)
            try await client.send(.get, "/readyz").expectError(.serviceUnavailable)
            await service.store.setFailing(false)
            #expect(try await client.send(.get, "/readyz").status == .ok)
        }
    }
}

@Suite("Response headers")
struct ResponseHeaderTests {
    @Test("every response, errors included, has nosniff and no-store")
    func headers() async throws {
        try await TestService().test { client in
            let token = try await client.logIn()
            var responses = [
                try await client.send(.get, "/"),
                try await client.send(.get, "/profile", cookie: token),
                try await client.send(.get, "/profile"),
                try await client.send(.get, "/nowhere"),
                try await client.send(.post, "/reset_password", form(["email": "bob@example.com"])),
            ]
            responses.append(
                try await client.send(.post, "/sessions", form(["email": "bob@example.com", "password": "b4l0u"])))
            for response in responses {
                #expect(response.headers[.xContentTypeOptions] == "nosniff")
                #expect(response.headers[.cacheControl] == "no-store")
            }
        }
    }
}

@Suite("Throttling over HTTP")
struct ThrottleRouteTests {
    @Test("the 11th login is a JSON 429 with Retry-After in whole seconds")
    func loginThrottled() async throws {
        try await TestService().test { client in
            _ = try await client.logIn()
            for _ in 0..<10 {
                try await client.send(.post, "/sessions", form(["email": "bob@example.com", "password": "nope-nope"]))
                    .expectError(.unauthorized)
            }
            let response = try await client.send(
                .post, "/sessions", form(["email": "bob@example.com", "password": "b4l0u"]))
            response.expectError(.tooManyRequests)
            #expect(response.headers[.retryAfter] == "60")
        }
    }
}
