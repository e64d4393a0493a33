import Foundation
import Hummingbird
import HummingbirdTesting
import Testing

@testable import LatchkeyCore
@testable import LatchkeyHTTP

@Suite("Operations routes")
struct OperationsTests {
    @Test("every request runs under RequestLoad: one that does not hash records its end")
    func requestLoad() async throws {
        let service = try await TestService()
        try await service.test { client in
            let before = RequestLoad.monotonicNanoseconds()
            let response = try await client.send(.get, "/")
            #expect(response.status == .ok)
            #expect(RequestLoad.lastCheapRequest.load(ordering: .relaxed) >= before)
        }
    }

    @Test("/auth/verify: 204 with the user's id and email for a live session, 401 otherwise")
    func verify() async throws {
        let service = try await TestService()
        try await service.test { client in
            let token = try await client.logIn()
            let user = try #require(try await service.store.findUser(by: .email("bob@example.com")))
            let live = try await client.send(.get, "/auth/verify", cookie: token)
            #expect(live.status == .noContent)
            #expect(live.headers[.init("X-Latchkey-User-Id")!] == "\(user.id)")
            #expect(live.headers[.init("X-Latchkey-Email")!] == "bob@example.com")
            try await client.send(.get, "/auth/verify").expectError(.unauthorized)
            try await client.send(.get, "/auth/verify", cookie: SecretToken.generate()).expectError(.unauthorized)
            _ = try await client.send(.delete, "/sessions", cookie: token)
            let ended = try await client.send(.get, "/auth/verify", cookie: token)
            ended.expectError(.unauthorized)
            #expect(ended.headers[.init("X-Latchkey-Email")!] == nil)
        }
    }

    @Test("/metrics is open without a token, and needs the bearer token when one is set")
    func metricsToken() async throws {
        let open = HTTPOptions(operations: Operations(metrics: { Array("up 1\n".utf8) }))
        try await TestService().test(options: open) { client in
            let response = try await client.send(.get, "/metrics")
            #expect(response.status == .ok)
            #expect(String(buffer: response.body) == "up 1\n")
        }
        let guarded = HTTPOptions(
            operations: Operations(metrics: { Array("up 1\n".utf8) }, metricsToken: "s3cr3t-t0ken"))
        try await TestService().test(options: guarded) { client in
            try await client.send(.get, "/metrics").expectError(.unauthorized)
            var wrong = try await client.execute(
                uri: "/metrics", method: .get, headers: [.authorization: "Bearer s3cr3t-t0keX"], body: nil)
            #expect(wrong.status == .unauthorized)
            wrong = try await client.execute(
                uri: "/metrics", method: .get, headers: [.authorization: "s3cr3t-t0ken"], body: nil)
            #expect(wrong.status == .unauthorized)
            let right = try await client.execute(
                uri: "/metrics", method: .get, headers: [.authorization: "Bearer s3cr3t-t0ken"], body: nil)
            #expect(right.status == .ok)
        }
    }

    @Test("/openapi.json serves the document given")
    func openAPI() async throws {
        let options = HTTPOptions(operations: Operations(openAPIDocument: Array(#"{"openapi":"3.1.0"}"#.utf8)))
        try await TestService().test(options: options) { client in
            let response = try await client.send(.get, "/openapi.json")
            #expect(response.status == .ok)
            #expect(response.headers[.contentType] == "application/json")
            #expect(String(buffer: response.body) == #"{"openapi":"3.1.0"}"#)
        }
    }

    @Test(
        "every response carries an X-Request-ID: the client's when well-formed, a new one otherwise",
        arguments: [
            ("abc-123_x.y", true), (String(repeating: "a", count: 128), true), ("", false),
            (String(repeating: "a", count: 129), false), ("has space", false), ("é", false), ("a/b", false),
        ]
    )
    func requestID(sent: String, kept: Bool) async throws {
        try await TestService().test { client in
            let response = try await client.execute(
                uri: "/nowhere", method: .get, headers: [.init("X-Request-ID")!: sent], body: nil)
            let id = try #require(response.headers[.init("X-Request-ID")!])
            if kept {
                #expect(id == sent)
            } else {
                #expect(id != sent)
                #expect(!id.isEmpty && id.count <= 128)
            }
            let other = try await client.send(.get, "/")
            #expect(other.headers[.init("X-Request-ID")!] != nil)
        }
    }
}

@Suite("JSON bodies")
struct JSONBodyTests {
    @Test(
        "the response encoder writes what JSONEncoder writes, escapes included",
        arguments: [
            ["message": "Bienvenue"], ["email": "a@b.c", "message": "logged in"], ["message": "quote \" and \\ back"],
            ["message": "tab\tline\nreturn\rbell\u{7}nul\u{0}"], ["message": "é ü 漢字 🙂 / slash"], [:],
        ]
    )
    func sameAsFoundation(object: [String: String]) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let expected = try encoder.encode(object)
        let produced = JSONResponse.encode(object)
        #expect(String(decoding: produced, as: UTF8.self) == String(decoding: expected, as: UTF8.self))
        let decoded = try JSONDecoder().decode([String: String].self, from: Data(produced))
        #expect(decoded == object)
    }
}

@Suite("Session cookie")
struct SessionCookieTests {
    static let a = String(repeating: "a", count: 43)
    static let b = String(repeating: "b", count: 43)

    @Test(
        "the session cookie's well-formed values are found among others, quoted or not, at most four",
        arguments: [
            (["session_id=\(a)"], [a]), (["x=1; session_id=\(a); y=2"], [a]),
            (["session_idx=1; session_id=\(a)"], [a]), (["  session_id=\(a)  "], [a]),
            (["x=1", "session_id=\(a)"], [a]), (["x=1"], []), (["xsession_id=\(a)"], []), (["session_id="], []),
            (["session_id=\"\(a)\""], [a]), (["session_id=garbage; session_id=\(b)"], [b]),
            (["session_id=\(a); session_id=\(b)"], [a, b]),
            ([Array(repeating: "session_id=\(a)", count: 6).joined(separator: "; ")], [a, a, a, a]),
            (["__Host-session_id=\(a)"], []),
        ] as [([String], [String])]
    )
    func candidates(headers: [String], expected: [String]) {
        var fields = HTTPFields()
        fields[values: .cookie] = headers
        let request = Request(
            head: HTTPRequest(
                method: .get, scheme: "http", authority: "localhost", path: "/profile", headerFields: fields),
            body: .init(buffer: ByteBuffer()))
        #expect(SessionCookie(name: "session_id", secure: false).candidates(in: request) == expected)
    }

    @Test("Set-Cookie attributes come in one fixed order")
    func setCookie() {
        #expect(
            SessionCookie(name: "__Host-session_id", secure: true).header(value: "v", maxAge: 60)
                == "__Host-session_id=v; Max-Age=60; Path=/; Secure; HttpOnly; SameSite=Lax")
        #expect(
            SessionCookie(name: "session_id", secure: false).header(value: "", maxAge: 0)
                == "session_id=; Max-Age=0; Path=/; HttpOnly; SameSite=Lax")
    }
}
