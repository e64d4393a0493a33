import Foundation
import LatchkeyTestSupport
import NIOCore
import Synchronization
import Testing

@testable import LatchkeyCore

@Suite("Login")
struct LoginTests {
    @Test("the right password logs in, with the email in any case")
    func rightPassword() async throws {
        let fixture = try await Fixture()
        let user = try await fixture.auth.registerUser(email: "ada@example.com", password: "b4l0u")
        #expect(try await fixture.auth.validLogin(email: "ADA@example.com ", password: "b4l0u").id == user.id)
    }

    @Test("a wrong password and an unknown email fail alike, after the same bcrypt work")
    func wrongOrUnknown() async throws {
        let fixture = try await Fixture()
        _ = try await fixture.auth.registerUser(email: "ada@example.com", password: "b4l0u")
        let before = await fixture.hasher.counter.verifications
        await #expect(throws: AuthError.invalidCredentials) {
            _ = try await fixture.auth.validLogin(email: "ada@example.com", password: "wrong")
        }
        #expect(await fixture.hasher.counter.verifications == before + 1)
        await #expect(throws: AuthError.invalidCredentials) {
            _ = try await fixture.auth.validLogin(email: "nobody@example.com", password: "b4l0u")
        }
        #expect(await fixture.hasher.counter.verifications == before + 2)
    }

    @Test("a password longer than 72 bytes never matches, though bcrypt would read only its start")
    func noTruncation() async throws {
        let hasher = BcryptPasswordHasher(cost: 4, threads: 2)
        let auth = try await Auth(store: InMemoryStore(), hasher: hasher)
        let password = String(repeating: "p", count: 72)
        _ = try await auth.registerUser(email: "ada@example.com", password: password)
        // bcrypt alone accepts the longer password: that is the truncation the rule prevents.
        let stored = try await auth.validLogin(email: "ada@example.com", password: password)
        #expect(try await hasher.verify(password + "extra", against: stored.passwordHash))
        await #expect(throws: AuthError.invalidCredentials) {
            _ = try await auth.validLogin(email: "ada@example.com", password: password + "extra")
        }
        // bcrypt stops at a NUL byte: "qzx\0zzz" would pass for "qzx".
        _ = try await auth.registerUser(email: "bob@example.com", password: "qzx")
        let short = try await auth.validLogin(email: "bob@example.com", password: "qzx")
        #expect(try await hasher.verify("qzx\u{0}zzz", against: short.passwordHash))
        await #expect(throws: AuthError.invalidCredentials) {
            _ = try await auth.validLogin(email: "bob@example.com", password: "qzx\u{0}zzz")
        }
        try await hasher.shutdown()
    }

    @Test("an unknown email is verified against a dummy hash of the same bcrypt cost")
    func dummyCost() async throws {
        let recorder = RecordingHasher(inner: BcryptPasswordHasher(cost: 5, threads: 1))
        let store = InMemoryStore()
        let auth = try await Auth(store: store, hasher: recorder)
        _ = try await auth.registerUser(email: "ada@example.com", password: "pw")
        let user = try #require(try await store.findUser(by: .email("ada@example.com")))
        await #expect(throws: AuthError.invalidCredentials) {
            _ = try await auth.validLogin(email: "nobody@example.com", password: "pw")
        }
        let verified = try #require(await recorder.verifiedHashes.last)
        #expect(verified != user.passwordHash)
        #expect(verified.prefix(7) == user.passwordHash.prefix(7))
        #expect(verified.hasPrefix("$2b$05$"))
    }

    @Test("a password reset between the password check and the session insert wins")
    func resetDuringLogin() async throws {
        let fixture = try await Fixture()
        _ = try await fixture.auth.registerUser(email: "ada@example.com", password: "old")
        let checked = try await fixture.auth.validLogin(email: "ada@example.com", password: "old")
        let issued = try await fixture.auth.resetPasswordToken(for: "ada@example.com")
        _ = try await fixture.auth.updatePassword(
            resetToken: issued.token, email: "ada@example.com", newPassword: "n3w-secret")
        await #expect(throws: AuthError.invalidCredentials) {
            _ = try await fixture.auth.createSession(for: checked)
        }
        #expect(await fixture.store.sessionCount == 0)
    }

    @Test("the bcrypt hasher runs one hash per core by default")
    func defaultThreads() async throws {
        let hasher = BcryptPasswordHasher(cost: 4)
        #expect(hasher.threads == System.coreCount)
        try await hasher.shutdown()
    }

    @Test("a malformed email is a validation error, not a failed login")
    func malformedEmail() async throws {
        let fixture = try await Fixture()
        await #expect(throws: AuthError.invalidEmail("email must contain exactly one @")) {
            _ = try await fixture.auth.validLogin(email: "not-an-email", password: "x")
        }
    }
}
