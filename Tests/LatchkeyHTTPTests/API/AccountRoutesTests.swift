import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import LatchkeyCore
import LatchkeyHTTP
import LatchkeyTestSupport
import NIOCore
import Testing

extension TestResponse {
    /// The body parsed as any JSON object.
    var object: [String: Any]? {
        guard headers[.contentType]?.hasPrefix("application/json") == true else { return nil }
        return (try? JSONSerialization.jsonObject(with: Data(body.readableBytesView))) as? [String: Any]
    }
}

@Suite("Account routes")
struct AccountRoutesTests {
    /// Every account route, with a body that would otherwise do something.
    static let routes: [(HTTPRequest.Method, String, [String: String])] = [
        (.get, "/account", [:]),
        (.put, "/account/password", ["current_password": "b4l0u", "new_password": "correct horse"]),
        (.get, "/account/sessions", [:]),
        (.delete, "/account/sessions/0123456789abcdef0123456789abcdef", ["password": "b4l0u"]),
        (.delete, "/account/sessions", ["password": "b4l0u"]),
        (.delete, "/account", ["password": "b4l0u"]),
        (.get, "/account/activity", [:]),
        (.put, "/account/email", ["password": "b4l0u", "new_email": "new@example.com"]),
    ]

    @Test("GET /account and PUT /account/password each read their session once")
    func sessionReadOnce() async throws {
        let service = try await TestService()
        try await service.test { client in
            let token = try await client.logIn()
            var before = await service.store.sessionReads
            let account = try await client.send(.get, "/account", cookie: token)
            #expect(account.status == .ok)
            #expect(await service.store.sessionReads - before == 1)
            before = await service.store.sessionReads
            let changed = try await client.send(
                .put, "/account/password", json(["current_password": "b4l0u", "new_password": "correct horse"]),
                cookie: token)
            #expect(changed.status == .ok)
            #expect(await service.store.sessionReads - before == 1)
        }
    }

    @Test("without a live session every account route is 403 and changes nothing", arguments: 0..<8)
    func noSession(index: Int) async throws {
        let (method, path, fields) = Self.routes[index]
        let service = try await TestService()
        try await service.test { client in
            let token = try await client.logIn()
            for cookie in [nil, "", SecretToken.generate(), "x"] as [String?] {
                let response = try await client.send(method, path, fields.isEmpty ? nil : json(fields), cookie: cookie)
                response.expectError(.forbidden, "no live session: log in first")
            }
            let profile = try await client.send(.get, "/profile", cookie: token)
            #expect(profile.status == .ok)
        }
        #expect(await service.store.sessionCount == 1)
    }

    @Test("GET /account answers id, email and an RFC 3339 creation time")
    func account() async throws {
        let service = try await TestService()
        try await service.test { client in
            let token = try await client.logIn("Ada@Example.com")
            let response = try await client.send(.get, "/account", cookie: token)
            #expect(response.status == .ok)
            let body = try #require(response.object)
            #expect(Set(body.keys) == ["id", "email", "created_at", "email_verified", "mfa"])
            let mfa = try #require(body["mfa"] as? [String: Any])
            #expect(mfa["totp"] as? Bool == false && mfa["recovery_codes_left"] as? Int == 0 && mfa.count == 2)
            #expect(body["email_verified"] as? Bool == false)
            #expect(body["email"] as? String == "ada@example.com")
            #expect(body["id"] as? Int == 1)
            let created = try #require(body["created_at"] as? String)
            #expect(try Date(created, strategy: .iso8601) <= Date())
        }
    }

    @Test("the password change renews the cookie with the remaining lifetime and ends the other sessions")
    func changePassword() async throws {
        let service = try await TestService(policy: AuthPolicy(sessionLifetime: 3600))
        try await service.test { client in
            let phone = try await client.logIn()
            let laptop = try await client.logIn(register: false)
            let wrong = try await client.send(
                .put, "/account/password", form(["current_password": "nope", "new_password": "correct horse"]),
                cookie: laptop)
            wrong.expectError(.unauthorized, "wrong password")
            let weak = try await client.send(
                .put, "/account/password", json(["current_password": "b4l0u", "new_password": ""]), cookie: laptop)
            weak.expectError(.badRequest)
            let missing = try await client.send(
                .put, "/account/password", json(["current_password": "b4l0u"]), cookie: laptop)
            missing.expectError(.badRequest)
            let changed = try await client.send(
                .put, "/account/password", json(["current_password": "b4l0u", "new_password": "correct horse"]),
                cookie: laptop)
            #expect(changed.status == .ok)
            #expect(changed.json == ["message": "Password updated"])
            let cookie = try #require(changed.sessionCookie)
            #expect(cookie.value != laptop && SecretToken.isWellFormed(cookie.value))
            let maxAge = try #require(cookie.attributes["max-age"].flatMap { Int($0) })
            #expect((3590...3600).contains(maxAge))
            #expect(cookie.attributes["path"] == "/")
            #expect(try await client.send(.get, "/profile", cookie: cookie.value).status == .ok)
            for old in [phone, laptop] {
                #expect(try await client.send(.get, "/profile", cookie: old).status == .forbidden)
            }
        }
    }

    @Test("the session list: newest first, with address, agent and current; ids end sessions")
    func sessions() async throws {
        let service = try await TestService()
        try await service.test { client in
            let phone = try await client.logIn()
            let laptop = try await client.logIn(register: false)
            let listed = try await client.send(.get, "/account/sessions", cookie: phone)
            #expect(listed.status == .ok)
            let sessions = try #require(listed.object?["sessions"] as? [[String: Any]])
            #expect(sessions.count == 2)
            for session in sessions {
                #expect(
                    Set(session.keys) == [
                        "id", "created_at", "last_seen_at", "expires_at", "ip", "user_agent", "current", "aal",
                    ])
                #expect(session["aal"] as? Int == 1)
                // The router test client has no peer address and sends no agent: both are null.
                #expect(session["ip"] is NSNull)
                #expect(session["user_agent"] is NSNull)
            }
            #expect(sessions.map { $0["current"] as? Bool } == [false, true])
            let laptopID = try #require(sessions[0]["id"] as? String)
            let phoneID = try #require(sessions[1]["id"] as? String)

            let unknown = try await client.send(
                .delete, "/account/sessions/\(Session.newPublicID())", form(["password": "b4l0u"]), cookie: phone)
            unknown.expectError(.notFound, "no such session")
            let malformed = try await client.send(
                .delete, "/account/sessions/not-an-id", form(["password": "b4l0u"]), cookie: phone)
            malformed.expectError(.notFound, "no such session")
            let wrong = try await client.send(
                .delete, "/account/sessions/\(laptopID)", form(["password": "nope"]), cookie: phone)
            wrong.expectError(.unauthorized, "wrong password")

            let ended = try await client.send(
                .delete, "/account/sessions/\(laptopID)", form(["password": "b4l0u"]), cookie: phone)
            #expect(ended.status == .noContent)
            #expect(ended.sessionCookie == nil)
            #expect(try await client.send(.get, "/profile", cookie: laptop).status == .forbidden)

            let own = try await client.send(
                .delete, "/account/sessions/\(phoneID)", json(["password": "b4l0u"]), cookie: phone)
            #expect(own.status == .noContent)
            #expect(own.sessionCookie?.value == "")
            #expect(own.sessionCookie?.attributes["max-age"] == "0")
            #expect(try await client.send(.get, "/profile", cookie: phone).status == .forbidden)
        }
    }

    @Test("DELETE /account/sessions ends the others and says how many")
    func endOthers() async throws {
        let service = try await TestService()
        try await service.test { client in
            let phone = try await client.logIn()
            let laptop = try await client.logIn(register: false)
            let tablet = try await client.logIn(register: false)
            let response = try await client.send(
                .delete, "/account/sessions", form(["password": "b4l0u"]), cookie: phone)
            #expect(response.status == .ok)
            #expect(response.object?["ended"] as? Int == 2)
            #expect(response.object?.count == 1)
            for token in [laptop, tablet] {
                #expect(try await client.send(.get, "/profile", cookie: token).status == .forbidden)
            }
            #expect(try await client.send(.get, "/profile", cookie: phone).status == .ok)
        }
    }

    @Test("DELETE /account erases the account, clears the cookie, and the address registers again")
    func deleteAccount() async throws {
        let service = try await TestService()
        try await service.test { client in
            let token = try await client.logIn()
            let wrong = try await client.send(.delete, "/account", form(["password": "nope"]), cookie: token)
            wrong.expectError(.unauthorized, "wrong password")
            let deleted = try await client.send(.delete, "/account", form(["password": "b4l0u"]), cookie: token)
            #expect(deleted.status == .noContent)
            #expect(deleted.sessionCookie?.value == "")
            #expect(deleted.sessionCookie?.attributes["max-age"] == "0")
            #expect(try await client.send(.get, "/profile", cookie: token).status == .forbidden)
            let login = try await client.send(
                .post, "/sessions", form(["email": "bob@example.com", "password": "b4l0u"]))
            login.expectError(.unauthorized)
            _ = try await client.logIn()
        }
    }

    @Test("a login records the client's address and agent; X-Forwarded-For only from a trusted proxy")
    func origin() async throws {
        let service = try await TestService()
        let options = HTTPOptions(trustedProxies: [try #require(IPNetwork("127.0.0.1/32"))])
        try await service.test(options: options, live: true) { client in
            _ = try await client.send(.post, "/users", form(["email": "bob@example.com", "password": "b4l0u"]))
            var headers: HTTPFields = [.contentType: "application/x-www-form-urlencoded", .userAgent: "Test/1.0"]
            let forwardedFor = try #require(HTTPField.Name("X-Forwarded-For"))
            headers[forwardedFor] = "198.51.100.4"
            let body = ByteBuffer(string: "email=bob%40example.com&password=b4l0u")
            let login = try await client.execute(uri: "/sessions", method: .post, headers: headers, body: body)
            let token = try #require(login.sessionCookie?.value)
            headers[forwardedFor] = "not an address"
            let other = try await client.execute(uri: "/sessions", method: .post, headers: headers, body: body)
            let otherToken = try #require(other.sessionCookie?.value)
            let sessions = try #require(
                try await client.send(.get, "/account/sessions", cookie: token).object?["sessions"] as? [[String: Any]])
            #expect(sessions.map { $0["ip"] as? String } == [nil, "198.51.100.4"])
            #expect(sessions.map { $0["user_agent"] as? String } == ["Test/1.0", "Test/1.0"])
            #expect(try await client.send(.get, "/profile", cookie: otherToken).status == .ok)
        }
    }

    @Test("GET /account/activity: the account's entries, newest first, with address and agent or null")
    func activity() async throws {
        let service = try await TestService()
        try await service.test { client in
            let token = try await client.logIn()
            let wrong = try await client.send(
                .post, "/sessions", form(["email": "bob@example.com", "password": "nope"]))
            #expect(wrong.status == .unauthorized)
            let response = try await client.send(.get, "/account/activity", cookie: token)
            #expect(response.status == .ok)
            let events = try #require(response.object?["events"] as? [[String: Any]])
            #expect(events.map { $0["type"] as? String } == ["login_failed", "login_succeeded", "registered"])
            for event in events {
                #expect(Set(event.keys) == ["type", "at", "ip", "user_agent"])
                #expect(event["ip"] is NSNull && event["user_agent"] is NSNull)
                let at = try #require(event["at"] as? String)
                #expect(try Date(at, strategy: .iso8601) <= Date())
            }
        }
    }

    @Test("POST and PUT /verify_email: the token in the answer, then the address verified, as JSON")
    func verifyEmail() async throws {
        let service = try await TestService()
        try await service.test { client in
            let session = try await client.logIn()
            let unknown = try await client.send(.post, "/verify_email", form(["email": "ghost@example.com"]))
            unknown.expectError(.forbidden, "email not registered")
            let issued = try await client.send(.post, "/verify_email", form(["email": "Bob@example.com"]))
            #expect(issued.status == .ok)
            let token = try #require(issued.json?["verification_token"])
            #expect(issued.json?.keys.sorted() == ["email", "verification_token"])
            let wrong = try await client.send(
                .put, "/verify_email", json(["email": "bob@example.com", "verification_token": SecretToken.generate()]))
            wrong.expectError(.forbidden, "verification token is not valid for this email")
            let missing = try await client.send(.put, "/verify_email", json(["email": "bob@example.com"]))
            missing.expectError(.badRequest)
            let verified = try await client.send(
                .put, "/verify_email", json(["email": "bob@example.com", "verification_token": token]))
            #expect(verified.status == .ok)
            #expect(verified.json == ["email": "bob@example.com", "message": "Email verified"])
            let again = try await client.send(.post, "/verify_email", form(["email": "bob@example.com"]))
            again.expectError(.conflict, "email already verified")
            let account = try await client.send(.get, "/account", cookie: session)
            #expect(account.object?["email_verified"] as? Bool == true)
        }
    }

    @Test("PUT /account/email: the token for the new address, then PUT /verify_email moves the account")
    func changeEmail() async throws {
        let service = try await TestService()
        try await service.test { client in
            let session = try await client.logIn()
            let wrong = try await client.send(
                .put, "/account/email", form(["password": "nope", "new_email": "new@example.com"]), cookie: session)
            wrong.expectError(.unauthorized, "wrong password")
            _ = try await client.logIn("eve@example.com")
            let taken = try await client.send(
                .put, "/account/email", form(["password": "b4l0u", "new_email": "eve@example.com"]), cookie: session)
            taken.expectError(.badRequest, "email already registered")
            let started = try await client.send(
                .put, "/account/email", json(["password": "b4l0u", "new_email": "New@Example.com"]), cookie: session)
            #expect(started.status == .ok)
            #expect(started.json?["email"] == "new@example.com")
            let token = try #require(started.json?["verification_token"])
            let moved = try await client.send(
                .put, "/verify_email", form(["email": "new@example.com", "verification_token": token]))
            #expect(moved.json == ["email": "new@example.com", "message": "Email verified"])
            let profile = try await client.send(.get, "/profile", cookie: session)
            #expect(profile.json == ["email": "new@example.com"])
        }
    }
}
