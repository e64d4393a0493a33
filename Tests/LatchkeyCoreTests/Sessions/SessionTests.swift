import Foundation
import LatchkeyTestSupport
import NIOCore
import Synchronization
import Testing

@testable import LatchkeyCore

@Suite("Sessions")
struct SessionTests {
    func loggedIn(_ fixture: Fixture) async throws -> (Account, String) {
        let user = try await fixture.auth.registerUser(email: "ada@example.com", password: "b4l0u")
        return (user, try await fixture.auth.createSession(for: fixture.auth.verifiedLogin(for: user)))
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
        let second = try await fixture.auth.createSession(for: fixture.auth.verifiedLogin(for: user))
        #expect(first != second)
    }

    @Test("logout ends only the session it was called with")
    func logoutOne() async throws {
        let fixture = try await Fixture()
        let (user, phone) = try await loggedIn(fixture)
        let laptop = try await fixture.auth.createSession(for: fixture.auth.verifiedLogin(for: user))
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
        let fresh = try await fixture.auth.createSession(for: fixture.auth.verifiedLogin(for: user))
        let result = try await fixture.auth.purgeExpired()
        #expect(result == PurgeResult(sessions: 1, resetTokens: 1))
        #expect(await fixture.store.sessionCount == 1)
        await #expect(throws: AuthError.invalidSession) { _ = try await fixture.auth.user(forSessionToken: old) }
        #expect(try await fixture.auth.user(forSessionToken: fresh) == SessionUser(user))
    }
}
