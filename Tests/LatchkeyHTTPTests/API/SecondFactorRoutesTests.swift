import ExtrasBase64
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import LatchkeyCore
import LatchkeyHTTP
import LatchkeyTestSupport
import NIOCore
import Testing

@Suite("Second-factor routes")
struct SecondFactorRoutesTests {
    static func policy(keys: Bool = true) throws -> AuthPolicy {
        var policy = AuthPolicy()
        policy.secondFactorKeyring = keys ? try SecondFactorKeyring(current: Data(repeating: 7, count: 32)) : nil
        return policy
    }

    @Test("a code that is not a string, or of neither shape, is a 400 for any account, before the password")
    func malformedCodeIsRefusedFirst() async throws {
        let service = try await TestService(policy: Self.policy())
        try await service.test { client in
            let token = try await client.logIn()
            let body = { (password: String, code: String) -> (HTTPFields, ByteBuffer) in
                let text = #"{"email": "bob@example.com", "password": "\#(password)", "code": \#(code)}"#
                return ([.contentType: "application/json"], ByteBuffer(string: text))
            }
            for enrolled in [false, true] {
                if enrolled { _ = try await Self.enrol(client, token) }
                for password in ["b4l0u", "wrong"] {
                    try await client.send(.post, "/sessions", body(password, "123456")).expectError(
                        .badRequest, "code must be a string")
                    try await client.send(.post, "/sessions", body(password, #""12 34""#)).expectError(
                        .badRequest, "code must be 6 digits or a recovery code")
                }
            }
            // Without a factor a well-formed code is ignored.
            let other = try await client.send(
                .post, "/users", form(["email": "carol@example.com", "password": "b4l0u"]))
            #expect(other.status == .ok)
            let login = try await client.send(
                .post, "/sessions", form(["email": "carol@example.com", "password": "b4l0u", "code": "123 456"]))
            #expect(login.status == .ok)
        }
    }

    @Test("codes typed as people type them: spaced, fullwidth, with a no-break space or a dash, by form and JSON")
    func codeSpellingsOnTheWire() async throws {
        let service = try await TestService(policy: Self.policy())
        try await service.test { client in
            let token = try await client.logIn()
            let (secret, _, codes) = try await Self.enrol(client, token)
            let groups = codes.map { $0.split(separator: "-").joined(separator: " ") }
            let spellings = [
                form(["email": "bob@example.com", "password": "b4l0u", "code": groups[0].lowercased()]),
                json([
                    "email": "bob@example.com", "password": "b4l0u",
                    "code": groups[1].replacingOccurrences(
                        of: " ", with: "\u{2013}"),
                ]),
                form([
                    "email": "bob@example.com", "password": "b4l0u",
                    "code": groups[2].replacingOccurrences(
                        of: " ", with: "\u{00A0}") + "\n",
                ]),
            ]
            for body in spellings {
                #expect(try await client.send(.post, "/sessions", body).status == .ok)
            }
            // The next step's code (the enrolment used this one), in fullwidth digits with a space.
            let next = TOTP.code(secret: secret, at: Date().addingTimeInterval(30))
            let fullwidth = String(
                String.UnicodeScalarView(next.unicodeScalars.map { Unicode.Scalar($0.value + 0xFEE0)! }))
            let spaced = "\(fullwidth.prefix(3)) \(fullwidth.suffix(3))"
            let response = try await client.send(
                .post, "/sessions", json(["email": "bob@example.com", "password": "b4l0u", "code": spaced]))
            #expect(response.status == .ok)
        }
    }

    @Test("the right password without a code is in the activity; a wrong code after it is noticed, once an hour")
    func passwordWithoutTheCode() async throws {
        let store = InMemoryStore()
        let policy = try Self.policy()
        let auth = try await Auth(store: store, hasher: FastHasher(), policy: policy, logger: CapturedLog().logger)
        let app = Application(router: buildRouter(auth: auth, options: HTTPOptions()), logger: CapturedLog().logger)
        try await app.test(.router) { client in
            let token = try await client.logIn()
            let (_, renewed, _) = try await Self.enrol(client, token)
            let first = try await client.send(
                .post, "/sessions", form(["email": "bob@example.com", "password": "b4l0u"]))
            #expect(first.status == .unauthorized && first.object?["mfa_required"] as? Bool == true)
            let activity = try await client.send(.get, "/account/activity", cookie: renewed)
            let events = try #require(activity.object?["events"] as? [[String: Any]])
            #expect(events.first?["type"] as? String == "login_second_factor_required")
            let challenge = try #require(first.object?["mfa_token"] as? String)
            for _ in 0..<2 {
                let wrong = try await client.send(
                    .post, "/sessions/mfa", form(["mfa_token": challenge, "code": "000000"]))
                #expect(wrong.status == .unauthorized)
            }
            let notices = await store.outboxEvents(keyring: policy.secondFactorKeyring).filter {
                $0.name == "password_used_without_second_factor"
            }
            #expect(notices.count == 1 && notices.first?.fields["email"] == "bob@example.com")
        }
    }

    /// Verifies bob's address (a second factor needs it), then enrols bob's session: the secret's
    /// bytes, the session's new token and the recovery codes.
    static func enrol(_ client: any TestClientProtocol, _ token: String) async throws
        -> (secret: Data, token: String, codes: [String])
    {
        try await verifyBob(client)
        let begun = try await client.send(.post, "/account/mfa/totp", form(["password": "b4l0u"]), cookie: token)
        #expect(begun.status == .ok)
        let body = try #require(begun.object)
        #expect(Set(body.keys) == ["secret", "otpauth_uri"])
        let text = try #require(body["secret"] as? String)
        #expect(
            (body["otpauth_uri"] as? String)?.hasPrefix("otpauth://totp/Latchkey:bob%40example.com?secret=\(text)&")
                == true)
        let secret = Data(try text.base32decoded())
        let confirmed = try await client.send(
            .put, "/account/mfa/totp", json(["code": TOTP.code(secret: secret, at: Date())]), cookie: token)
        #expect(confirmed.status == .ok)
        let codes = try #require(confirmed.object?["recovery_codes"] as? [String])
        let cookie = try #require(confirmed.sessionCookie)
        #expect(cookie.value != token && Int(cookie.attributes["max-age"] ?? "") ?? 0 > 0)
        return (secret, cookie.value, codes)
    }

    /// Verifies bob's address with the token in the answer (the default delivery).
    static func verifyBob(_ client: any TestClientProtocol) async throws {
        let issued = try await client.send(.post, "/verify_email", form(["email": "bob@example.com"]))
        guard issued.status == .ok, let verification = issued.object?["verification_token"] as? String else {
            return  // verified already
        }
        let verified = try await client.send(
            .put, "/verify_email", form(["email": "bob@example.com", "verification_token": verification]))
        #expect(verified.status == .ok)
    }

    @Test("enrolment: 503 without keys, 401 wrong password or code, 400 without a pending one, 409 once active")
    func enrolment() async throws {
        let unconfigured = try await TestService(policy: Self.policy(keys: false))
        try await unconfigured.test { client in
            let token = try await client.logIn()
            let response = try await client.send(.post, "/account/mfa/totp", form(["password": "b4l0u"]), cookie: token)
            response.expectError(.serviceUnavailable, "second factor not configured")
        }
        let service = try await TestService(policy: Self.policy())
        try await service.test { client in
            let token = try await client.logIn()
            // Not before the address is verified, whatever the password.
            for password in ["b4l0u", "nope"] {
                try await client.send(.post, "/account/mfa/totp", form(["password": password]), cookie: token)
                    .expectError(.conflict, "verify your email address first")
            }
            try await Self.verifyBob(client)
            try await client.send(.post, "/account/mfa/totp", form(["password": "nope"]), cookie: token)
                .expectError(.unauthorized, "wrong password")
            try await client.send(.put, "/account/mfa/totp", form(["code": "123456"]), cookie: token)
                .expectError(.badRequest, "no second factor to confirm: start with POST /account/mfa/totp")
            _ = try await client.send(.post, "/account/mfa/totp", form(["password": "b4l0u"]), cookie: token)
            try await client.send(.put, "/account/mfa/totp", form(["code": "12345x"]), cookie: token)
                .expectError(.badRequest, "code must be 6 digits or a recovery code")
            try await client.send(.put, "/account/mfa/totp", form(["code": "000000"]), cookie: token)
                .expectError(.unauthorized, "wrong code")
            try await client.send(.put, "/account/mfa/totp", form([:]), cookie: token)
                .expectError(.badRequest, "missing field: code")
            let (_, renewed, codes) = try await Self.enrol(client, token)
            #expect(codes.count == 10)
            try await client.send(.post, "/account/mfa/totp", form(["password": "b4l0u"]), cookie: renewed)
                .expectError(.conflict, "second factor already active")
            let account = try await client.send(.get, "/account", cookie: renewed)
            let mfa = try #require(account.object?["mfa"] as? [String: Any])
            #expect(mfa["totp"] as? Bool == true && mfa["recovery_codes_left"] as? Int == 10)
            let sessions = try await client.send(.get, "/account/sessions", cookie: renewed)
            let listed = try #require(sessions.object?["sessions"] as? [[String: Any]])
            #expect(listed.map { $0["aal"] as? Int } == [2])
            let verify = try await client.send(.get, "/auth/verify", cookie: renewed)
            #expect(verify.status == .noContent && verify.headers[HTTPField.Name("X-Latchkey-AAL")!] == "2")
        }
    }

    @Test("a login needs the code: 401 with a token and no cookie, then POST /sessions/mfa answers as a login")
    func login() async throws {
        let service = try await TestService(policy: Self.policy())
        try await service.test { client in
            let first = try await client.logIn()
            let plain = try await client.send(.get, "/auth/verify", cookie: first)
            #expect(plain.headers[HTTPField.Name("X-Latchkey-AAL")!] == "1")
            let (secret, _, codes) = try await Self.enrol(client, first)
            let wrong = try await client.send(.post, "/sessions", form(["email": "bob@example.com", "password": "x"]))
            wrong.expectError(.unauthorized, "wrong email or password")
            let step = try await client.send(
                .post, "/sessions", form(["email": "bob@example.com", "password": "b4l0u"]))
            #expect(step.status == .unauthorized && step.sessionCookie == nil)
            let body = try #require(step.object)
            #expect(Set(body.keys) == ["message", "mfa_required", "mfa_token"])
            #expect(body["message"] as? String == "one-time code required" && body["mfa_required"] as? Bool == true)
            let loginChallenge = try #require(body["mfa_token"] as? String)
            // An empty code is no code: the first step's answer, not a wrong code.
            let empty = try await client.send(
                .post, "/sessions", form(["email": "bob@example.com", "password": "b4l0u", "code": ""]))
            #expect(empty.status == .unauthorized && empty.object?["mfa_required"] as? Bool == true)
            try await client.send(.post, "/sessions/mfa", form(["mfa_token": loginChallenge, "code": "000000"]))
                .expectError(.unauthorized, "wrong code")
            let code = TOTP.code(secret: secret, at: Date().addingTimeInterval(30))
            let done = try await client.send(.post, "/sessions/mfa", json(["mfa_token": loginChallenge, "code": code]))
            #expect(done.status == .ok)
            #expect(done.object as? [String: String] == ["email": "bob@example.com", "message": "logged in"])
            let cookie = try #require(done.sessionCookie)
            #expect(cookie.attributes["max-age"] == "\(AuthPolicy().sessionLifetime)")
            try await client.send(.post, "/sessions/mfa", form(["mfa_token": loginChallenge, "code": codes[0]]))
                .expectError(.unauthorized, "login token is not valid: log in again")
            // One step, with a recovery code.
            let direct = try await client.send(
                .post, "/sessions", form(["email": "bob@example.com", "password": "b4l0u", "code": codes[1]]))
            #expect(direct.status == .ok && direct.sessionCookie != nil)
            try await client.send(
                .post, "/sessions", form(["email": "bob@example.com", "password": "b4l0u", "code": codes[1]])
            ).expectError(.unauthorized, "wrong code")
            // The account routes that ask for the password ask for a code.
            try await client.send(.delete, "/account/sessions", form(["password": "b4l0u"]), cookie: cookie.value)
                .expectError(.unauthorized, "one-time code required")
            try await client.send(
                .delete, "/account/mfa/totp", form(["password": "b4l0u", "code": codes[2]]), cookie: cookie.value
            )
            .expect(.noContent)
            try await client.send(
                .delete, "/account/mfa/totp", form(["password": "b4l0u", "code": codes[3]]), cookie: cookie.value
            )
            .expectError(.conflict, "no active second factor")
            #expect(
                try await client.send(.post, "/sessions", form(["email": "bob@example.com", "password": "b4l0u"]))
                    .status == .ok)
        }
    }
}

extension TestResponse {
    func expect(_ status: HTTPResponse.Status) {
        #expect(self.status == status)
    }
}
