import Foundation
import LatchkeyTestSupport
import Testing

@testable import LatchkeyCore

@Suite("Account self-service")
struct AccountSelfServiceTests {
    let phone = SessionOrigin(ip: "203.0.113.7", userAgent: "Phone/2.0")
    let laptop = SessionOrigin(ip: "2001:db8::5", userAgent: "Laptop/1.0")

    /// Registers ada and logs her in from the phone, then the laptop.
    func twoSessions(_ fixture: Fixture) async throws -> (account: Account, phone: String, laptop: String) {
        let account = try await fixture.auth.registerUser(email: "ada@example.com", password: "b4l0u")
        let first = try await fixture.auth.createSession(
            for: fixture.auth.validLogin(email: "ada@example.com", password: "b4l0u"), origin: phone)
        fixture.clock.advance(by: 10)
        let second = try await fixture.auth.createSession(
            for: fixture.auth.validLogin(email: "ada@example.com", password: "b4l0u"), origin: laptop)
        return (account, first, second)
    }

    @Test("the account: id, email and registration time, for a live session only")
    func account() async throws {
        let fixture = try await Fixture()
        let (account, phone, _) = try await twoSessions(fixture)
        #expect(try await fixture.auth.account(sessionToken: phone) == account)
        await #expect(throws: AuthError.invalidSession) {
            _ = try await fixture.auth.account(sessionToken: SecretToken.generate())
        }
    }

    @Test("sessions are listed newest first, with their address and agent, the asking one marked")
    func list() async throws {
        let fixture = try await Fixture()
        let (_, phoneToken, laptopToken) = try await twoSessions(fixture)
        let listed = try await fixture.auth.sessions(sessionToken: phoneToken)
        #expect(listed.map(\.userAgent) == ["Laptop/1.0", "Phone/2.0"])
        #expect(listed.map(\.ip) == ["2001:db8::5", "203.0.113.7"])
        #expect(listed.map(\.current) == [false, true])
        #expect(listed.allSatisfy { Session.isWellFormedPublicID($0.id) })
        // The public identifier is no part of either token or its digest.
        for token in [phoneToken, laptopToken] {
            let digestHex = TokenDigest(of: token).bytes.map { String(format: "%02x", $0) }.joined()
            #expect(!listed.contains { token.contains($0.id) || digestHex.contains($0.id) })
        }
        #expect(try await fixture.auth.sessions(sessionToken: laptopToken).map(\.current) == [true, false])
    }

    @Test("a long agent is cut to 256 characters and control characters are dropped")
    func agentShape() {
        let long = SessionOrigin(ip: nil, userAgent: String(repeating: "é", count: 300))
        #expect(long.userAgent?.count == 256)
        #expect(SessionOrigin(userAgent: "a\u{0}b\u{7F}c\td").userAgent == "abcd")
        #expect(SessionOrigin(userAgent: "\u{1}").userAgent == nil)
        #expect(SessionOrigin(userAgent: "").userAgent == nil)
    }

    @Test("changing the password ends every other session and renews this one's token")
    func changePassword() async throws {
        let fixture = try await Fixture(policy: AuthPolicy(sessionLifetime: 3600))
        let (account, phoneToken, laptopToken) = try await twoSessions(fixture)
        let before = try #require(try await fixture.auth.sessions(sessionToken: laptopToken).first)
        fixture.clock.advance(by: 100)
        let renewed = try await fixture.auth.changePassword(
            sessionToken: laptopToken, currentPassword: "b4l0u", newPassword: "correct horse", origin: laptop)
        #expect(renewed.token != laptopToken)
        // The laptop's session was created 110 s ago with a lifetime of an hour.
        #expect(renewed.maxAge == 3600 - 100)
        await #expect(throws: AuthError.invalidSession) {
            _ = try await fixture.auth.user(forSessionToken: laptopToken)
        }
        await #expect(throws: AuthError.invalidSession) { _ = try await fixture.auth.user(forSessionToken: phoneToken) }
        let after = try await fixture.auth.sessions(sessionToken: renewed.token)
        #expect(after.count == 1)
        #expect(after.first?.id == before.id)
        #expect(after.first?.createdAt == before.createdAt)
        #expect(after.first?.expiresAt == before.expiresAt)
        #expect(await attempt(fixture.auth, "ada@example.com", "b4l0u") == .invalidCredentials)
        #expect(await attempt(fixture.auth, "ada@example.com", "correct horse") == nil)
        #expect(
            (await fixture.notifier.events).last
                == .passwordChanged(
                    email: account.email, at: fixture.clock.now, ip: "2001:db8::5", userAgent: "Laptop/1.0"))
    }

    @Test("a password change drops a pending reset token")
    func changeDropsResetToken() async throws {
        let fixture = try await Fixture()
        let (account, phoneToken, _) = try await twoSessions(fixture)
        guard case .issued(let issued) = try await fixture.auth.requestPasswordReset(for: "ada@example.com") else {
            Issue.record("no token issued")
            return
        }
        _ = try await fixture.auth.changePassword(
            sessionToken: phoneToken, currentPassword: "b4l0u", newPassword: "correct horse", origin: phone)
        #expect(try await fixture.store.findResetToken(userID: account.id) == nil)
        await #expect(throws: AuthError.invalidResetToken) {
            _ = try await fixture.auth.updatePassword(
                resetToken: issued.token, email: "ada@example.com", newPassword: "other pass")
        }
    }

    @Test("a wrong current password is 401 and changes nothing; a weak new one is refused before any check")
    func changePasswordRefusals() async throws {
        let fixture = try await Fixture(policy: AuthPolicy(passwordMinLength: 8))
        let account = try await fixture.auth.registerUser(email: "ada@example.com", password: "b4l0u-long")
        let token = try await fixture.auth.createSession(for: fixture.auth.verifiedLogin(for: account))
        await #expect(throws: AuthError.wrongPassword) {
            _ = try await fixture.auth.changePassword(
                sessionToken: token, currentPassword: "wrong-guess", newPassword: "correct horse", origin: phone)
        }
        let verifications = await fixture.hasher.counter.verifications
        await #expect(throws: AuthError.invalidPassword("new_password must be at least 8 characters")) {
            _ = try await fixture.auth.changePassword(
                sessionToken: token, currentPassword: "b4l0u-long", newPassword: "short", origin: phone)
        }
        #expect(await fixture.hasher.counter.verifications == verifications)
        #expect(try await fixture.auth.user(forSessionToken: token).id == account.id)
        #expect(await attempt(fixture.auth, "ada@example.com", "b4l0u-long") == nil)
        #expect(!(await fixture.notifier.events).contains { $0.name == "password_changed" })
    }

    @Test("wrong passwords on account routes count toward the login throttle: then 429, even when right")
    func reauthenticationIsThrottled() async throws {
        let fixture = try await Fixture(
            policy: {
                var policy = AuthPolicy()
                policy.loginThrottle = FailureThrottle(maxFailures: 3, firstWait: 60)
                return policy
            }())
        let (_, phoneToken, _) = try await twoSessions(fixture)
        for _ in 0..<3 {
            await #expect(throws: AuthError.wrongPassword) {
                _ = try await fixture.auth.endOtherSessions(sessionToken: phoneToken, password: "wrong-guess")
            }
        }
        await #expect(throws: AuthError.throttled(retryAfter: 60)) {
            _ = try await fixture.auth.endOtherSessions(sessionToken: phoneToken, password: "b4l0u")
        }
        #expect(await attempt(fixture.auth, "ada@example.com", "b4l0u") == .throttled(retryAfter: 60))
    }

    @Test("ending another session by its id; ending the asking one says so; unknown and malformed ids are 404")
    func endSession() async throws {
        let fixture = try await Fixture()
        let (_, phoneToken, laptopToken) = try await twoSessions(fixture)
        let listed = try await fixture.auth.sessions(sessionToken: phoneToken)
        let laptopID = try #require(listed.first { !$0.current }?.id)
        let phoneID = try #require(listed.first { $0.current }?.id)
        let verifications = await fixture.hasher.counter.verifications
        for id in ["", "../sessions", laptopID.uppercased(), String(laptopID.dropLast())] {
            await #expect(throws: AuthError.sessionNotFound) {
                _ = try await fixture.auth.endSession(id: id, sessionToken: phoneToken, password: "b4l0u")
            }
        }
        // A malformed identifier costs no password check.
        #expect(await fixture.hasher.counter.verifications == verifications)
        await #expect(throws: AuthError.sessionNotFound) {
            _ = try await fixture.auth.endSession(
                id: Session.newPublicID(), sessionToken: phoneToken, password: "b4l0u")
        }
        await #expect(throws: AuthError.wrongPassword) {
            _ = try await fixture.auth.endSession(id: laptopID, sessionToken: phoneToken, password: "wrong-guess")
        }
        #expect(try await fixture.auth.endSession(id: laptopID, sessionToken: phoneToken, password: "b4l0u") == false)
        await #expect(throws: AuthError.invalidSession) {
            _ = try await fixture.auth.user(forSessionToken: laptopToken)
        }
        await #expect(throws: AuthError.sessionNotFound) {
            _ = try await fixture.auth.endSession(id: laptopID, sessionToken: phoneToken, password: "b4l0u")
        }
        #expect(try await fixture.auth.endSession(id: phoneID, sessionToken: phoneToken, password: "b4l0u"))
        await #expect(throws: AuthError.invalidSession) { _ = try await fixture.auth.user(forSessionToken: phoneToken) }
    }

    @Test("another account's session id is 404 and that session lives on")
    func endSessionOfAnother() async throws {
        let fixture = try await Fixture()
        let (_, phoneToken, _) = try await twoSessions(fixture)
        let bob = try await fixture.auth.registerUser(email: "bob@example.com", password: "b0bb0b")
        let bobToken = try await fixture.auth.createSession(for: fixture.auth.verifiedLogin(for: bob))
        let bobID = try #require(try await fixture.auth.sessions(sessionToken: bobToken).first?.id)
        await #expect(throws: AuthError.sessionNotFound) {
            _ = try await fixture.auth.endSession(id: bobID, sessionToken: phoneToken, password: "b4l0u")
        }
        #expect(try await fixture.auth.user(forSessionToken: bobToken).id == bob.id)
    }

    @Test("ending every other session keeps the asking one and counts the rest")
    func endOthers() async throws {
        let fixture = try await Fixture()
        let (_, phoneToken, laptopToken) = try await twoSessions(fixture)
        let third = try await fixture.auth.createSession(
            for: fixture.auth.validLogin(email: "ada@example.com", password: "b4l0u"))
        #expect(try await fixture.auth.endOtherSessions(sessionToken: phoneToken, password: "b4l0u") == 2)
        for token in [laptopToken, third] {
            await #expect(throws: AuthError.invalidSession) { _ = try await fixture.auth.user(forSessionToken: token) }
        }
        #expect(try await fixture.auth.sessions(sessionToken: phoneToken).count == 1)
        #expect(try await fixture.auth.endOtherSessions(sessionToken: phoneToken, password: "b4l0u") == 0)
    }

    @Test("a login beyond SESSIONS_PER_USER_MAX ends the least recently used session")
    func sessionCap() async throws {
        let fixture = try await Fixture(
            policy: {
                var policy = AuthPolicy(sessionTouchInterval: 1)
                policy.sessionsPerUserMax = 3
                return policy
            }())
        let account = try await fixture.auth.registerUser(email: "ada@example.com", password: "b4l0u")
        var tokens: [String] = []
        for _ in 0..<3 {
            tokens.append(try await fixture.auth.createSession(for: fixture.auth.verifiedLogin(for: account)))
            fixture.clock.advance(by: 10)
        }
        // The oldest session is used again; the second is now the least recently used.
        _ = try await fixture.auth.user(forSessionToken: tokens[0])
        fixture.clock.advance(by: 10)
        let fourth = try await fixture.auth.createSession(for: fixture.auth.verifiedLogin(for: account))
        await #expect(throws: AuthError.invalidSession) { _ = try await fixture.auth.user(forSessionToken: tokens[1]) }
        for token in [tokens[0], tokens[2], fourth] {
            #expect(try await fixture.auth.user(forSessionToken: token).id == account.id)
        }
        #expect(await fixture.store.sessionCount == 3)
    }

    @Test("deleting the account erases it, its sessions and throttles, notifies, and frees the address")
    func deleteAccount() async throws {
        let fixture = try await Fixture()
        let (account, phoneToken, laptopToken) = try await twoSessions(fixture)
        _ = await attempt(fixture.auth, "ada@example.com", "wrong-guess")
        await #expect(throws: AuthError.wrongPassword) {
            try await fixture.auth.deleteAccount(sessionToken: phoneToken, password: "wrong-guess")
        }
        #expect(try await fixture.store.findUser(by: .id(account.id)) != nil)
        try await fixture.auth.deleteAccount(sessionToken: phoneToken, password: "b4l0u")
        #expect(try await fixture.store.findUser(by: .id(account.id)) == nil)
        for token in [phoneToken, laptopToken] {
            await #expect(throws: AuthError.invalidSession) { _ = try await fixture.auth.user(forSessionToken: token) }
        }
        #expect(await fixture.store.sessionCount == 0)
        for scope in ThrottleScope.allCases {
            #expect(try await fixture.store.throttleRecord(ThrottleKey(scope, "ada@example.com")) == nil)
        }
        #expect(
            (await fixture.notifier.events).last == .accountDeleted(email: "ada@example.com", at: fixture.clock.now))
        let again = try await fixture.auth.registerUser(email: "ada@example.com", password: "n3w-ada")
        #expect(again.id != account.id)
    }
}
