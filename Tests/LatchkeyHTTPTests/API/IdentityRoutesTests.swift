import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import LatchkeyCore
import LatchkeyHTTP
import LatchkeyTestSupport
import NIOCore
import Testing

/// A body of raw bytes with a content type.
func raw(_ bytes: [UInt8], _ contentType: String) -> (HTTPFields, ByteBuffer) {
    ([.contentType: contentType], ByteBuffer(bytes: bytes))
}

@Suite("Identity over HTTP: canonical addresses, exact bytes")
struct IdentityRoutesTests {
    @Test(
        "bytes that are not UTF-8 are a 400 on every route, raw or percent-encoded, in any field",
        arguments: [
            (HTTPRequest.Method.post, "/users", Array("email=t%FFm%40example.com&password=b4l0u".utf8)),
            (.post, "/users", Array("email=ann%40example.com&password=%FF%FE-Horse-Tr1cky".utf8)),
            (.post, "/sessions", Array("email=ann%40example.com&password=%80%81-Horse-Tr1cky".utf8)),
            (.post, "/reset_password", Array("email=t%C3m%40example.com".utf8)),  // a truncated sequence
            // A UTF-16 surrogate, encoded as if it were a character.
            (.put, "/reset_password", Array("email=a%40b.co&reset_token=x&new_password=%ED%A0%80".utf8)),
            (.post, "/users", Array("email=ann%40example.com&password=".utf8) + [0xFF, 0xFE]),
            (.post, "/users", Array("email=ann%40example.com&pass%FFword=b4l0u".utf8)),
        ]
    )
    func invalidUTF8InForms(method: HTTPRequest.Method, path: String, body: [UInt8]) async throws {
        let service = try await TestService()
        try await service.test { client in
            let response = try await client.send(method, path, raw(body, "application/x-www-form-urlencoded"))
            response.expectError(.badRequest)
            #expect(response.json?["message"]?.hasPrefix("request body must be UTF-8") == true)
        }
        #expect(try await service.store.listUsers(after: nil, limit: 10, now: Date(), idleCutoff: Date()).isEmpty)
    }

    @Test("bytes that are not UTF-8 in a JSON body are a 400 that says so")
    func invalidUTF8InJSON() async throws {
        let service = try await TestService()
        try await service.test { client in
            let body = Array(#"{"email": "ann@example.com", "password": ""#.utf8) + [0xFF, 0xFE] + Array(#""}"#.utf8)
            try await client.send(.post, "/users", raw(body, "application/json"))
                .expectError(.badRequest, "request body must be UTF-8")
        }
    }

    @Test("a form value decodes %2B, + and percent-encoded UTF-8 exactly")
    func formDecoding() async throws {
        let service = try await TestService()
        try await service.test { client in
            let body = Array("email=a%2Bb%40example.com&password=caf%C3%A9+au+lait".utf8)
            let response = try await client.send(.post, "/users", raw(body, "application/x-www-form-urlencoded"))
            #expect(response.status == .ok)
            #expect(response.json?["email"] == "a+b@example.com")
            let login = try await client.send(
                .post, "/sessions", json(["email": "a+b@example.com", "password": "café au lait"]))
            #expect(login.status == .ok)
            // A name given twice, and a broken escape, are refused.
            try await client.send(
                .post, "/users", raw(Array("email=a&email=b&password=x".utf8), "application/x-www-form-urlencoded")
            )
            .expectError(.badRequest, "field email must be sent once")
            let broken = try await client.send(
                .post, "/users", raw(Array("email=a%4&password=x".utf8), "application/x-www-form-urlencoded"))
            broken.expectError(.badRequest)
        }
    }

    @Test("one account per mailbox: the response echoes the canonical form, and other spellings are taken")
    func oneAccount() async throws {
        let service = try await TestService()
        try await service.test { client in
            let created = try await client.send(
                .post, "/users", json(["email": "Anna@B\u{FC}cher.example", "password": "b4l0u"]))
            #expect(created.json?["email"] == "anna@xn--bcher-kva.example")
            try await client.send(.post, "/users", json(["email": "anna@xn--bcher-kva.example", "password": "b4l0u"]))
                .expectError(.badRequest, "email already registered")
            let nfc = try await client.send(
                .post, "/users", json(["email": "l\u{E9}a@example.com", "password": "b4l0u"]))
            #expect(nfc.status == .ok)
            try await client.send(.post, "/users", json(["email": "le\u{301}a@example.com", "password": "b4l0u"]))
                .expectError(.badRequest, "email already registered")
            // The Cyrillic look-alike is another mailbox.
            let cyrillic = try await client.send(
                .post, "/users", json(["email": "\u{430}nna@b\u{FC}cher.example", "password": "b4l0u"]))
            #expect(cyrillic.status == .ok)
        }
    }

    @Test("X-Latchkey-Email carries the canonical address, as UTF-8 bytes when the local part is not ASCII")
    func verifyHeader() async throws {
        let service = try await TestService()
        try await service.test { client in
            let token = try await client.logIn("J\u{D6}RG@B\u{FC}cher.example", "b4l0u")
            let response = try await client.send(.get, "/auth/verify", cookie: token)
            #expect(response.status == .noContent)
            let header = try #require(response.headers[HTTPField.Name("X-Latchkey-Email")!])
            #expect(Array(header.utf8) == Array("j\u{F6}rg@xn--bcher-kva.example".utf8))
        }
    }

    @Test("a wrong reset token is a 403 whatever the new password; a right one with a refused password is a 400")
    func resetOrder() async throws {
        let service = try await TestService()
        try await service.test { client in
            _ = try await client.logIn("ada@example.com", "b4l0u")
            let issued = try await client.send(.post, "/reset_password", form(["email": "ada@example.com"]))
            let token = try #require(issued.json?["reset_token"])
            for password in ["", "tab\there", String(repeating: "x", count: 257)] {
                try await client.send(
                    .put, "/reset_password",
                    form(["email": "ada@example.com", "reset_token": SecretToken.generate(), "new_password": password])
                ).expectError(.forbidden)
                try await client.send(
                    .put, "/reset_password",
                    form(["email": "ada@example.com", "reset_token": token, "new_password": password])
                ).expectError(.badRequest)
            }
            let done = try await client.send(
                .put, "/reset_password",
                form(["email": "ada@example.com", "reset_token": token, "new_password": "n3w-pw"]))
            #expect(done.status == .ok)
        }
    }
}
