import Foundation
import LatchkeyTestSupport
import NIOCore
import Synchronization
import Testing

@testable import LatchkeyCore

/// A clock the tests move by hand.
final class TestClock: Sendable {
    private let current = Mutex(Date(timeIntervalSince1970: 1_800_000_000))

    var now: Date { current.withLock { $0 } }

    func advance(by seconds: TimeInterval) {
        current.withLock { $0 = $0.addingTimeInterval(seconds) }
    }
}

/// Wraps a hasher and records the hashes it verifies against.
actor RecordingHasher: PasswordHasher {
    let inner: BcryptPasswordHasher
    private(set) var verifiedHashes: [String] = []

    init(inner: BcryptPasswordHasher) {
        self.inner = inner
    }

    func hash(_ password: String) async throws -> String {
        try await inner.hash(password)
    }

    func verify(_ password: String, against hash: String) async throws -> Bool {
        verifiedHashes.append(hash)
        return try await inner.verify(password, against: hash)
    }

    nonisolated func needsRehash(_ hash: String) -> Bool {
        inner.needsRehash(hash)
    }
}

struct Fixture {
    let store = InMemoryStore()
    let hasher = FastHasher()
    let clock = TestClock()
    let auth: Auth

    init(policy: AuthPolicy = AuthPolicy()) async throws {
        let clock = self.clock
        auth = try await Auth(store: store, hasher: hasher, policy: policy, clock: { clock.now })
    }
}

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

    @Test("an address of exactly 254 characters is accepted")
    func longestEmail() async throws {
        let fixture = try await Fixture()
        let email = String(repeating: "a", count: 249) + "@x.io"
        #expect(email.count == 254)
        let user = try await fixture.auth.registerUser(email: email, password: "pw")
        #expect(user.email == email)
    }

    @Test(
        "passwords bcrypt cannot hash faithfully, and empty ones, are refused",
        arguments: [
            ("", "empty"),
            ("abc\u{0}def", "NUL"),
            (String(repeating: "x", count: 73), "72 bytes"),
            (String(repeating: "é", count: 37), "72 bytes"),  // 74 bytes, 37 characters
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

    @Test("a 72-byte password, the original's passwords and short uncommon ones are accepted by default")
    func acceptedPasswords() async throws {
        let fixture = try await Fixture()
        _ = try await fixture.auth.registerUser(email: "a@example.com", password: String(repeating: "x", count: 72))
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

@Suite("Login")
struct LoginTests {
    @Test("the right password logs in, with the email in any case")
    func rightPassword() async throws {
        let fixture = try await Fixture()
        let user = try await fixture.auth.registerUser(email: "ada@example.com", password: "b4l0u")
        #expect(try await fixture.auth.validLogin(email: "ADA@example.com ", password: "b4l0u") == VerifiedLogin(user))
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
        let short = try await auth.registerUser(email: "bob@example.com", password: "qzx")
        #expect(try await hasher.verify("qzx\u{0}zzz", against: short.passwordHash))
        await #expect(throws: AuthError.invalidCredentials) {
            _ = try await auth.validLogin(email: "bob@example.com", password: "qzx\u{0}zzz")
        }
        try await hasher.shutdown()
    }

    @Test("an unknown email is verified against a dummy hash of the same bcrypt cost")
    func dummyCost() async throws {
        let recorder = RecordingHasher(inner: BcryptPasswordHasher(cost: 5, threads: 1))
        let auth = try await Auth(store: InMemoryStore(), hasher: recorder)
        let user = try await auth.registerUser(email: "ada@example.com", password: "pw")
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

@Suite("Sessions")
struct SessionTests {
    func loggedIn(_ fixture: Fixture) async throws -> (User, String) {
        let user = try await fixture.auth.registerUser(email: "ada@example.com", password: "b4l0u")
        return (user, try await fixture.auth.createSession(for: VerifiedLogin(user)))
    }

    @Test("a session token is 43 base64url characters and the store keeps only its SHA-256")
    func tokenShape() async throws {
        let fixture = try await Fixture()
        let (user, token) = try await loggedIn(fixture)
        #expect(token.count == 43)
        #expect(token.allSatisfy { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" })
        #expect(try await fixture.store.findSession(digest: TokenDigest(of: token))?.user == SessionUser(user))
        #expect(try await fixture.store.findSession(digest: TokenDigest(bytes: Data(token.utf8))) == nil)
        #expect(try await fixture.auth.user(forSessionToken: token) == SessionUser(user))
    }

    @Test("tokens are unique")
    func unique() async throws {
        let fixture = try await Fixture()
        let (user, first) = try await loggedIn(fixture)
        let second = try await fixture.auth.createSession(for: VerifiedLogin(user))
        #expect(first != second)
    }

    @Test("logout ends only the session it was called with")
    func logoutOne() async throws {
        let fixture = try await Fixture()
        let (user, phone) = try await loggedIn(fixture)
        let laptop = try await fixture.auth.createSession(for: VerifiedLogin(user))
        try await fixture.auth.destroySession(token: phone)
        await #expect(throws: AuthError.invalidSession) { _ = try await fixture.auth.user(forSessionToken: phone) }
        #expect(try await fixture.auth.user(forSessionToken: laptop) == SessionUser(user))
        await #expect(throws: AuthError.invalidSession) { try await fixture.auth.destroySession(token: phone) }
    }

    @Test(
        "unknown and malformed tokens are refused",
        arguments: ["", "short", String(repeating: "A", count: 43), "ä" + String(repeating: "A", count: 42)])
    func unknown(token: String) async throws {
        let fixture = try await Fixture()
        _ = try await loggedIn(fixture)
        await #expect(throws: AuthError.invalidSession) { _ = try await fixture.auth.user(forSessionToken: token) }
        await #expect(throws: AuthError.invalidSession) { try await fixture.auth.destroySession(token: token) }
    }

    @Test("a session ends at its absolute lifetime, however much it is used")
    func absoluteExpiry() async throws {
        let fixture = try await Fixture(policy: AuthPolicy(sessionLifetime: 3600, sessionIdleTimeout: 600))
        let (_, token) = try await loggedIn(fixture)
        for _ in 0..<11 {
            fixture.clock.advance(by: 300)
            _ = try await fixture.auth.user(forSessionToken: token)
        }
        fixture.clock.advance(by: 300)  // 3600 s after login
        await #expect(throws: AuthError.invalidSession) { _ = try await fixture.auth.user(forSessionToken: token) }
        #expect(await fixture.store.sessionCount == 0)
    }

    @Test("a session ends after the idle timeout without use")
    func idleExpiry() async throws {
        let fixture = try await Fixture(policy: AuthPolicy(sessionLifetime: 3600, sessionIdleTimeout: 600))
        let (user, token) = try await loggedIn(fixture)
        fixture.clock.advance(by: 599)
        #expect(try await fixture.auth.user(forSessionToken: token) == SessionUser(user))
        fixture.clock.advance(by: 599)
        #expect(try await fixture.auth.user(forSessionToken: token) == SessionUser(user))
        fixture.clock.advance(by: 600)
        await #expect(throws: AuthError.invalidSession) { _ = try await fixture.auth.user(forSessionToken: token) }
    }

    @Test("the last-seen time is refreshed at most once a minute")
    func touchInterval() async throws {
        let fixture = try await Fixture()
        let (_, token) = try await loggedIn(fixture)
        let created = fixture.clock.now
        fixture.clock.advance(by: 30)
        _ = try await fixture.auth.user(forSessionToken: token)
        #expect(try await fixture.store.findSession(digest: TokenDigest(of: token))?.session.lastSeenAt == created)
        fixture.clock.advance(by: 31)
        _ = try await fixture.auth.user(forSessionToken: token)
        #expect(
            try await fixture.store.findSession(digest: TokenDigest(of: token))?.session.lastSeenAt == fixture.clock.now
        )
    }

    @Test("with a short idle timeout, a session in use is refreshed often enough to stay alive")
    func shortIdle() async throws {
        let fixture = try await Fixture(policy: AuthPolicy(sessionLifetime: 3600, sessionIdleTimeout: 60))
        let (user, token) = try await loggedIn(fixture)
        for _ in 0..<10 {
            fixture.clock.advance(by: 45)
            #expect(try await fixture.auth.user(forSessionToken: token) == SessionUser(user))
        }
        fixture.clock.advance(by: 60)
        await #expect(throws: AuthError.invalidSession) { _ = try await fixture.auth.user(forSessionToken: token) }
    }

    @Test("purging removes expired sessions and reset tokens only")
    func purge() async throws {
        let fixture = try await Fixture(
            policy: AuthPolicy(sessionLifetime: 3600, sessionIdleTimeout: 600, resetTokenTTL: 900))
        let (user, old) = try await loggedIn(fixture)
        _ = try await fixture.auth.resetPasswordToken(for: user.email)
        fixture.clock.advance(by: 1000)
        let fresh = try await fixture.auth.createSession(for: VerifiedLogin(user))
        let result = try await fixture.auth.purgeExpired()
        #expect(result == PurgeResult(sessions: 1, resetTokens: 1))
        #expect(await fixture.store.sessionCount == 1)
        await #expect(throws: AuthError.invalidSession) { _ = try await fixture.auth.user(forSessionToken: old) }
        #expect(try await fixture.auth.user(forSessionToken: fresh) == SessionUser(user))
    }
}

@Suite("Password reset")
struct ResetTests {
    @Test("a reset token is for registered emails only")
    func unknownEmail() async throws {
        let fixture = try await Fixture()
        await #expect(throws: AuthError.emailNotRegistered) {
            _ = try await fixture.auth.resetPasswordToken(for: "nobody@example.com")
        }
    }

    @Test("a token changes the password once, ends every session and the old password")
    func fullReset() async throws {
        let fixture = try await Fixture()
        let user = try await fixture.auth.registerUser(email: "ada@example.com", password: "b4l0u")
        let session = try await fixture.auth.createSession(for: VerifiedLogin(user))
        let issued = try await fixture.auth.resetPasswordToken(for: " ADA@example.com")
        #expect(issued.email == "ada@example.com")
        #expect(issued.token.count == 43)
        #expect(issued.expiresAt == fixture.clock.now.addingTimeInterval(3600))
        let stored = try #require(try await fixture.store.findResetToken(userID: user.id))
        #expect(stored.tokenDigest == TokenDigest(of: issued.token))
        #expect(stored.tokenDigest.bytes != Data(issued.token.utf8))
        #expect(stored.tokenDigest.bytes.count == 32)
        let updated = try await fixture.auth.updatePassword(
            resetToken: issued.token, email: "ada@example.com", newPassword: "t4rt1fl3tt3")
        #expect(updated.email == "ada@example.com")
        #expect(try await fixture.auth.validLogin(email: "ada@example.com", password: "t4rt1fl3tt3").id == user.id)
        await #expect(throws: AuthError.invalidCredentials) {
            _ = try await fixture.auth.validLogin(email: "ada@example.com", password: "b4l0u")
        }
        await #expect(throws: AuthError.invalidSession) { _ = try await fixture.auth.user(forSessionToken: session) }
        await #expect(throws: AuthError.invalidResetToken) {
            _ = try await fixture.auth.updatePassword(
                resetToken: issued.token, email: "ada@example.com", newPassword: "again")
        }
    }

    @Test("a newer token replaces the older one")
    func newerReplaces() async throws {
        let fixture = try await Fixture()
        _ = try await fixture.auth.registerUser(email: "ada@example.com", password: "b4l0u")
        let first = try await fixture.auth.resetPasswordToken(for: "ada@example.com")
        let second = try await fixture.auth.resetPasswordToken(for: "ada@example.com")
        await #expect(throws: AuthError.invalidResetToken) {
            _ = try await fixture.auth.updatePassword(
                resetToken: first.token, email: "ada@example.com", newPassword: "n3w-secret")
        }
        _ = try await fixture.auth.updatePassword(
            resetToken: second.token, email: "ada@example.com", newPassword: "n3w-secret")
    }

    @Test("a token is bound to the email it was issued for")
    func boundToEmail() async throws {
        let fixture = try await Fixture()
        _ = try await fixture.auth.registerUser(email: "ada@example.com", password: "b4l0u")
        _ = try await fixture.auth.registerUser(email: "bob@example.com", password: "b4l0u")
        let issued = try await fixture.auth.resetPasswordToken(for: "ada@example.com")
        _ = try await fixture.auth.resetPasswordToken(for: "bob@example.com")
        await #expect(throws: AuthError.invalidResetToken) {
            _ = try await fixture.auth.updatePassword(
                resetToken: issued.token, email: "bob@example.com", newPassword: "n3w-secret")
        }
        await #expect(throws: AuthError.invalidResetToken) {
            _ = try await fixture.auth.updatePassword(
                resetToken: issued.token, email: "nobody@example.com", newPassword: "n3w-secret")
        }
        _ = try await fixture.auth.validLogin(email: "bob@example.com", password: "b4l0u")
    }

    @Test("a token expires after its time to live")
    func expiry() async throws {
        let fixture = try await Fixture(policy: AuthPolicy(resetTokenTTL: 600))
        _ = try await fixture.auth.registerUser(email: "ada@example.com", password: "b4l0u")
        let issued = try await fixture.auth.resetPasswordToken(for: "ada@example.com")
        fixture.clock.advance(by: 600)
        await #expect(throws: AuthError.invalidResetToken) {
            _ = try await fixture.auth.updatePassword(
                resetToken: issued.token, email: "ada@example.com", newPassword: "n3w-secret")
        }
    }

    @Test("a new password that breaks the policy is refused and leaves the token usable")
    func badNewPassword() async throws {
        let fixture = try await Fixture()
        _ = try await fixture.auth.registerUser(email: "ada@example.com", password: "b4l0u")
        let issued = try await fixture.auth.resetPasswordToken(for: "ada@example.com")
        await #expect(throws: AuthError.self) {
            _ = try await fixture.auth.updatePassword(
                resetToken: issued.token,
                email: "ada@example.com",
                newPassword: String(repeating: "x", count: 73)
            )
        }
        _ = try await fixture.auth.updatePassword(resetToken: issued.token, email: "ada@example.com", newPassword: "ok")
    }

    @Test("a wrong token costs no hashing")
    func wrongTokenNoHash() async throws {
        let fixture = try await Fixture()
        _ = try await fixture.auth.registerUser(email: "ada@example.com", password: "b4l0u")
        _ = try await fixture.auth.resetPasswordToken(for: "ada@example.com")
        let before = await fixture.hasher.counter.hashes
        await #expect(throws: AuthError.invalidResetToken) {
            _ = try await fixture.auth.updatePassword(
                resetToken: SecretToken.generate(), email: "ada@example.com", newPassword: "n3w-secret")
        }
        #expect(await fixture.hasher.counter.hashes == before)
    }
}

@Suite("Storage failures")
struct StorageFailureTests {
    @Test("a failing store is reported as unavailable, never as another outcome")
    func unavailable() async throws {
        let fixture = try await Fixture()
        let user = try await fixture.auth.registerUser(email: "ada@example.com", password: "b4l0u")
        let token = try await fixture.auth.createSession(for: VerifiedLogin(user))
        await fixture.store.setFailing(true)
        await #expect(throws: AuthError.storageUnavailable) {
            _ = try await fixture.auth.registerUser(email: "bob@example.com", password: "xq7")
        }
        await #expect(throws: AuthError.storageUnavailable) {
            _ = try await fixture.auth.validLogin(email: "ada@example.com", password: "b4l0u")
        }
        await #expect(throws: AuthError.storageUnavailable) {
            _ = try await fixture.auth.user(forSessionToken: token)
        }
        await #expect(throws: AuthError.storageUnavailable) {
            _ = try await fixture.auth.resetPasswordToken(for: "ada@example.com")
        }
    }
}
