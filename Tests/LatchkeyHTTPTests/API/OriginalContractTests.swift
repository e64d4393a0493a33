import Foundation
import Hummingbird
import HummingbirdTesting
import LatchkeyCore
import LatchkeyHTTP
import NIOCore
import Testing

/// What a client of the original service sees, kept: a reset that keeps sessions, addresses that
/// cannot be valid answered as unregistered on the routes that only look an account up, the
/// logout redirect's body (decision 0010).
@Suite("The original's clients, unchanged")
struct OriginalContractTests {
    /// One address of each kind the rules refuse.
    static let refused = [
        "nope", "", "   ", "a@@example.com", "a b@example.com", "a\u{200B}@example.com", "a@[127.0.0.1]",
        "a@example.com.", "x\u{FF20}evil@example.com", String(repeating: "l", count: 65) + "@example.com",
    ]

    @Test("POST /sessions with an address the rules refuse is the 401 of an unregistered one", arguments: refused)
    func login(email: String) async throws {
        try await TestService().test { client in
            for body in [form(["email": email, "password": "pw"]), json(["email": email, "password": "pw"])] {
                let response = try await client.send(.post, "/sessions", body)
                response.expectError(.unauthorized, "wrong email or password")
                #expect(response.sessionCookie == nil)
            }
        }
    }

    @Test("both reset routes answer an address the rules refuse as an unregistered one", arguments: refused)
    func reset(email: String) async throws {
        try await TestService().test { client in
            try await client.send(.post, "/reset_password", form(["email": email])).expectError(
                .forbidden, "email not registered")
            try await client.send(
                .put, "/reset_password", form(["email": email, "reset_token": "t", "new_password": "pw"])
            ).expectError(.forbidden, "reset token is not valid for this email")
        }
        var policy = AuthPolicy()
        policy.tokenDelivery = .webhook
        try await TestService(policy: policy).test { client in
            let response = try await client.send(.post, "/reset_password", form(["email": email]))
            #expect(response.status == .ok)
            #expect(
                response.json == [
                    "email": email, "message": "if this email has an account, a reset token is on its way",
                ])
        }
    }

    @Test("a missing field is still a 400 on the three routes")
    func missingField() async throws {
        try await TestService().test { client in
            try await client.send(.post, "/sessions", form(["email": "nope"])).expectError(
                .badRequest, "missing field: password")
            try await client.send(.post, "/reset_password", form(["mail": "nope"])).expectError(
                .badRequest, "missing field: email")
            try await client.send(.put, "/reset_password", form(["email": "nope", "reset_token": "t"])).expectError(
                .badRequest, "missing field: new_password")
        }
    }

    @Test("registration and verification keep the 400 with the reason", arguments: ["nope", "   "])
    func otherRoutesKeepTheReason(email: String) async throws {
        let reason = email == "nope" ? "email must contain exactly one @" : "email must not be empty"
        try await TestService().test { client in
            try await client.send(.post, "/users", form(["email": email, "password": "pw"])).expectError(
                .badRequest, reason)
            try await client.send(.post, "/verify_email", form(["email": email])).expectError(.badRequest, reason)
            try await client.send(.put, "/verify_email", form(["email": email, "verification_token": "t"]))
                .expectError(.badRequest, reason)
        }
    }

    @Test("the logout's 302 is Werkzeug's: Location /, an HTML body and its content type")
    func logoutRedirect() async throws {
        try await TestService().test { client in
            let session = try await client.logIn()
            let response = try await client.send(.delete, "/sessions", cookie: session)
            #expect(response.status == .found)
            #expect(response.headers[.location] == "/")
            #expect(response.headers[.contentType] == "text/html; charset=utf-8")
            #expect(response.body.readableBytes == 189)
            #expect(String(buffer: response.body).contains(#"<a href="/">/</a>"#))
        }
    }

    @Test("a reset keeps the account's sessions unless RESET_ENDS_SESSIONS", arguments: [false, true])
    func resetAndSessions(endsSessions: Bool) async throws {
        var policy = AuthPolicy()
        policy.resetEndsSessions = endsSessions
        try await TestService(policy: policy).test { client in
            let session = try await client.logIn()
            let token = try #require(
                try await client.send(.post, "/reset_password", form(["email": "bob@example.com"])).json?["reset_token"]
            )
            let reset = try await client.send(
                .put, "/reset_password",
                form(["email": "bob@example.com", "reset_token": token, "new_password": "t4rt1fl3tt3"]))
            #expect(reset.status == .ok)
            let profile = try await client.send(.get, "/profile", cookie: session)
            let logout = try await client.send(.delete, "/sessions", cookie: session)
            if endsSessions {
                profile.expectError(.forbidden)
                logout.expectError(.forbidden)
            } else {
                #expect(profile.json == ["email": "bob@example.com"])
                #expect(logout.status == .found)
            }
        }
    }
}
