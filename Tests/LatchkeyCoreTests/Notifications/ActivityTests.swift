import Foundation
import LatchkeyTestSupport
import Testing

@testable import LatchkeyCore

@Suite("Security activity")
struct ActivityTests {
    let phone = SessionOrigin(ip: "203.0.113.7", userAgent: "Phone/2.0")

    func kinds(_ fixture: Fixture, _ token: String) async throws -> [ActivityEvent.Kind] {
        try await fixture.auth.activity(sessionToken: token).map(\.kind)
    }

    @Test("logins, wrong passwords and the start of a wait are recorded with their origin; a refused attempt is not")
    func logins() async throws {
        let fixture = try await Fixture(
            policy: {
                var policy = AuthPolicy()
                policy.loginThrottle = FailureThrottle(maxFailures: 3, firstWait: 60)
                return policy
            }())
        let account = try await fixture.auth.registerUser(email: "ada@example.com", password: "b4l0u")
        let token = try await fixture.auth.createSession(
            for: fixture.auth.validLogin(email: "ada@example.com", password: "b4l0u", origin: phone), origin: phone)
        for _ in 0..<3 {
            fixture.clock.advance(by: 1)
            #expect(await attempt(fixture.auth, "ada@example.com", "wrong-guess") == .invalidCredentials)
        }
        #expect(await attempt(fixture.auth, "ada@example.com", "b4l0u") == .throttled(retryAfter: 60))
        #expect(await attempt(fixture.auth, "ada@example.com", "wrong-guess") == .throttled(retryAfter: 60))
        // An unknown address has no activity to record.
        #expect(await attempt(fixture.auth, "ghost@example.com", "wrong-guess") == .invalidCredentials)
        let events = try await fixture.auth.activity(sessionToken: token)
        #expect(
            events.map(\.kind) == [
                .loginThrottled, .loginFailed, .loginFailed, .loginFailed, .loginSucceeded, .registered,
            ])
        let login = events.first { $0.kind == .loginSucceeded }
        #expect(login?.ip == "203.0.113.7")
        #expect(login?.userAgent == "Phone/2.0")
        #expect(events.allSatisfy { $0.userID == account.id })
        #expect(events.first?.at == fixture.clock.now)
    }

    @Test("password changes and resets, and ended sessions, are recorded")
    func accountChanges() async throws {
        let fixture = try await Fixture()
        let account = try await fixture.auth.registerUser(email: "ada@example.com", password: "b4l0u")
        var token = try await fixture.auth.createSession(for: fixture.auth.verifiedLogin(for: account))
        _ = try await fixture.auth.createSession(for: fixture.auth.verifiedLogin(for: account))
        let otherID = try #require(try await fixture.auth.sessions(sessionToken: token).first { !$0.current }?.id)
        _ = try await fixture.auth.endSession(id: otherID, sessionToken: token, password: "b4l0u", origin: phone)
        _ = try await fixture.auth.createSession(for: fixture.auth.verifiedLogin(for: account))
        _ = try await fixture.auth.endOtherSessions(sessionToken: token, password: "b4l0u")
        await #expect(throws: AuthError.wrongPassword) {
            _ = try await fixture.auth.endOtherSessions(sessionToken: token, password: "wrong-guess")
        }
        token = try await fixture.auth.changePassword(
            sessionToken: token, currentPassword: "b4l0u", newPassword: "correct horse", origin: phone
        ).token
        guard case .issued(let issued) = try await fixture.auth.requestPasswordReset(for: "ada@example.com") else {
            Issue.record("no token issued")
            return
        }
        _ = try await fixture.auth.updatePassword(
            resetToken: issued.token, email: "ada@example.com", newPassword: "staple battery", origin: phone)
        token = try await fixture.auth.createSession(for: fixture.auth.verifiedLogin(for: account))
        #expect(
            try await kinds(fixture, token) == [
                .loginSucceeded, .passwordReset, .passwordChanged, .loginFailed, .sessionsRevoked, .loginSucceeded,
                .sessionRevoked, .loginSucceeded, .loginSucceeded, .registered,
            ])
    }

    @Test("registering and logging out are recorded, with their origin")
    func registeredAndLoggedOut() async throws {
        let fixture = try await Fixture()
        let laptop = SessionOrigin(ip: "198.51.100.4", userAgent: "Laptop/1.0")
        let account = try await fixture.auth.registerUser(email: "ada@example.com", password: "b4l0u", origin: laptop)
        let first = try await fixture.auth.createSession(for: fixture.auth.verifiedLogin(for: account))
        fixture.clock.advance(by: 1)
        try await fixture.auth.destroySession(token: first, origin: phone)
        // A refused logout (the session is gone) records nothing.
        await #expect(throws: AuthError.invalidSession) { try await fixture.auth.destroySession(token: first) }
        let token = try await fixture.auth.createSession(for: fixture.auth.verifiedLogin(for: account))
        let events = try await fixture.auth.activity(sessionToken: token)
        #expect(events.map(\.kind) == [.loginSucceeded, .loggedOut, .loginSucceeded, .registered])
        #expect(events[1].ip == "203.0.113.7" && events[1].userAgent == "Phone/2.0")
        #expect(events[3].ip == "198.51.100.4" && events[3].userAgent == "Laptop/1.0")
    }

    @Test("the activity shown is the last 100; older entries go after ACTIVITY_RETENTION days")
    func boundsAndRetention() async throws {
        let fixture = try await Fixture(
            policy: {
                var policy = AuthPolicy()
                policy.activityRetentionDays = 2
                return policy
            }())
        let account = try await fixture.auth.registerUser(email: "ada@example.com", password: "b4l0u")
        for _ in 0..<105 {
            await fixture.auth.record(.loginFailed, userID: account.id)
            fixture.clock.advance(by: 1)
        }
        let token = try await fixture.auth.createSession(for: fixture.auth.verifiedLogin(for: account))
        let shown = try await fixture.auth.activity(sessionToken: token)
        #expect(shown.count == 100)
        #expect(shown.first?.kind == .loginSucceeded)
        fixture.clock.advance(by: 2 * 86_400 - 50)
        let purged = try await fixture.auth.purgeExpired()
        // Entries at or before now - 2 days: `registered` and the first 56 of the 105 (one a second).
        #expect(purged.activity == 57)
        #expect(try await fixture.auth.activity(sessionToken: token).count == 50)
    }

    @Test("a failure to record loses only the entry")
    func recordingIsBestEffort() async throws {
        let fixture = try await Fixture()
        let account = try await fixture.auth.registerUser(email: "ada@example.com", password: "b4l0u")
        _ = try await fixture.auth.deleteUser(id: account.id)
        // The account is gone: nothing to record, and nothing thrown.
        await fixture.auth.record(.loginFailed, userID: account.id)
        #expect(try await fixture.store.listActivity(userID: account.id, limit: 10).isEmpty)
    }
}
