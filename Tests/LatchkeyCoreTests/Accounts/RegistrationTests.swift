import Foundation
import LatchkeyTestSupport
import NIOCore
import Synchronization
import Testing

@testable import LatchkeyCore

@Suite("Registration")
struct RegistrationTests {
    @Test("emails are trimmed and lower-cased, and the password is stored hashed")
    func normalises() async throws {
        let fixture = try await Fixture()
        let user = try await fixture.auth.registerUser(email: "  Ada@Example.COM\n", password: "b4l0u")
        #expect(user.email == "ada@example.com")
        let stored = try #require(try await fixture.store.findUser(by: .email("ada@example.com")))
        #expect(stored.passwordHash != "b4l0u")
        #expect(try await fixture.hasher.verify("b4l0u", against: stored.passwordHash))
    }

    @Test("an address registered in another case or with spaces is taken, without hashing")
    func duplicate() async throws {
        let fixture = try await Fixture()
        _ = try await fixture.auth.registerUser(email: "ada@example.com", password: "pw")
        let hashesBefore = await fixture.hasher.counter.hashes
        await #expect(throws: AuthError.emailAlreadyRegistered) {
            _ = try await fixture.auth.registerUser(email: " ADA@example.com ", password: "other")
        }
        #expect(await fixture.hasher.counter.hashes == hashesBefore)
    }

    @Test("concurrent registrations of one address have exactly one winner")
    func concurrent() async throws {
        let fixture = try await Fixture()
        let auth = fixture.auth
        let results = await withTaskGroup(of: Bool?.self) { group in
            for _ in 0..<20 {
                group.addTask {
                    do {
                        _ = try await auth.registerUser(email: "race@example.com", password: "pw")
                        return true
                    } catch AuthError.emailAlreadyRegistered {
                        return false
                    } catch {
                        return nil
                    }
                }
            }
            return await group.reduce(into: [Bool?]()) { $0.append($1) }
        }
        #expect(results.filter { $0 == true }.count == 1)
        #expect(results.filter { $0 == false }.count == 19)
    }

    @Test(
        "malformed addresses are refused",
        arguments: [
            "", "   ", "no-at-sign", "@example.com", "ada@", "a b@example.com", "ada@exa mple.com",
            "ada@example.com\u{0}", "ada\u{7}@example.com", "a@b@c", "ada\t@example.com",
            String(repeating: "a", count: 250) + "@x.io",
            "a" + String(repeating: "\u{301}", count: 300) + "@x.io",  // one grapheme, 301 scalars
        ]
    )
    func malformedEmail(email: String) async throws {
        let fixture = try await Fixture()
        await #expect(throws: AuthError.self) {
            _ = try await fixture.auth.registerUser(email: email, password: "pw")
        }
        do {
            _ = try await fixture.auth.registerUser(email: email, password: "pw")
        } catch let error as AuthError {
            guard case .invalidEmail = error else {
                Issue.record("expected invalidEmail, got \(error)")
                return
            }
        }
        #expect(await fixture.hasher.counter.hashes == 1)  // only the dummy hash
    }

    @Test("an address of exactly 254 octets, with a local part of 64, is accepted; one more is not")
    func longestEmail() async throws {
        let fixture = try await Fixture()
        let label = String(repeating: "d", count: 62)
        let domain = [label, label, String(repeating: "d", count: 60), "io"].joined(separator: ".")
        let email = String(repeating: "a", count: 64) + "@" + domain
        #expect(email.utf8.count == 254)
        let user = try await fixture.auth.registerUser(email: email, password: "pw")
        #expect(user.email == email)
        await #expect(throws: AuthError.invalidEmail("email must be at most 254 bytes in UTF-8")) {
            _ = try await fixture.auth.registerUser(
                email: String(repeating: "a", count: 64) + "@e" + domain, password: "pw")
        }
    }

    @Test(
        "empty passwords, passwords with control characters, and passwords over 256 characters are refused",
        arguments: [
            ("", "empty"),
            ("abc\u{0}def", "control characters (U+0000)"),
            ("tab\there-horse", "control characters (U+0009)"),
            ("next\u{85}line-horse", "control characters (U+0085)"),
            ("escape\u{1B}-horse", "control characters (U+001B)"),
            (String(repeating: "x", count: 257), "at most 256 characters"),
            // NFKC turns each ligature into two letters: 129 ligatures are 258 characters.
            (String(repeating: "\u{FB01}", count: 129), "at most 256 characters"),
        ]
    )
    func badPasswords(password: String, reason: String) async throws {
        let fixture = try await Fixture()
        do {
            _ = try await fixture.auth.registerUser(email: "ada@example.com", password: password)
            Issue.record("accepted a password that must be refused")
        } catch AuthError.invalidPassword(let message) {
            #expect(message.contains(reason))
        }
        #expect(try await fixture.store.findUser(by: .email("ada@example.com")) == nil)
    }

    @Test("256-character and 64-character non-Latin passwords, the original's and short uncommon ones are accepted")
    func acceptedPasswords() async throws {
        let fixture = try await Fixture()
        _ = try await fixture.auth.registerUser(email: "a@example.com", password: String(repeating: "x", count: 256))
        _ = try await fixture.auth.registerUser(email: "d@example.com", password: String(repeating: "ж", count: 64))
        _ = try await fixture.auth.registerUser(email: "e@example.com", password: String(repeating: "密", count: 64))
        // Format characters are allowed: emoji sequences join with U+200D.
        _ = try await fixture.auth.registerUser(email: "f@example.com", password: "👩\u{200D}💻-horse-staple")
        _ = try await fixture.auth.registerUser(email: "b@example.com", password: "b4l0u")
        _ = try await fixture.auth.registerUser(email: "c@example.com", password: "7r")
    }

    @Test("the minimum length comes from the policy")
    func minimumLength() async throws {
        let fixture = try await Fixture(policy: AuthPolicy(passwordMinLength: 8))
        await #expect(throws: AuthError.invalidPassword("password must be at least 8 characters")) {
            _ = try await fixture.auth.registerUser(email: "a@example.com", password: "abcd123")
        }
        _ = try await fixture.auth.registerUser(email: "a@example.com", password: "zq8-pass")
    }
}
