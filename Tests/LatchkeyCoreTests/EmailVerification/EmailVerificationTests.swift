import Foundation
import LatchkeyTestSupport
import Testing

@testable import LatchkeyCore

@Suite("Email verification")
struct EmailVerificationTests {
    static func policy(
        _ delivery: TokenDelivery = .response, _ mode: EmailVerification = .optional
    ) -> AuthPolicy {
        var policy = AuthPolicy()
        policy.tokenDelivery = delivery
        policy.emailVerification = mode
        return policy
    }

    /// Waits (up to 10 s) for the notices sent in the background; returns the verification tokens.
    static func verificationNotices(_ notifier: OutboxRecorder, count: Int = 1) async throws -> [String] {
        for _ in 0..<1000 {
            let tokens = await notifier.events.compactMap { event -> String? in
                if case .emailVerificationRequested(_, let token, _) = event { return token }
                return nil
            }
            if tokens.count >= count { return tokens }
            try await Task.sleep(for: .milliseconds(10))
        }
        Issue.record("no verification notice")
        return []
    }

    @Test("with response delivery: the token in the answer, 403 for no account, 409 once verified")
    func responseDelivery() async throws {
        let fixture = try await Fixture(policy: Self.policy())
        let account = try await fixture.auth.registerUser(email: "ada@example.com", password: "b4l0u")
        #expect(account.emailVerified == false)
        await #expect(throws: AuthError.emailNotRegistered) {
            _ = try await fixture.auth.requestEmailVerification(for: "ghost@example.com")
        }
        guard case .issued(let issued) = try await fixture.auth.requestEmailVerification(for: "ADA@example.com") else {
            Issue.record("no token in the answer")
            return
        }
        #expect(issued.email == "ada@example.com")
        #expect(SecretToken.isWellFormed(issued.token))
        #expect(issued.expiresAt == fixture.clock.now.addingTimeInterval(86_400))
        // No registration token was sent: with response delivery the client asks.
        #expect((await fixture.notifier.events).isEmpty)
        let verified = try await fixture.auth.verifyEmail(token: issued.token, email: "ada@example.com")
        #expect(verified.emailVerified && verified.id == account.id)
        await #expect(throws: AuthError.invalidVerificationToken) {
            _ = try await fixture.auth.verifyEmail(token: issued.token, email: "ada@example.com")
        }
        await #expect(throws: AuthError.emailAlreadyVerified) {
            _ = try await fixture.auth.requestEmailVerification(for: "ada@example.com")
        }
        let token = try await fixture.auth.createSession(for: fixture.auth.verifiedLogin(for: account))
        #expect(try await fixture.auth.account(sessionToken: token).emailVerified)
        #expect(try await fixture.auth.activity(sessionToken: token).map(\.kind).contains(.emailVerified))
    }

    @Test("a token is bound to its address, expires, and the newest replaces the older")
    func tokenRules() async throws {
        let fixture = try await Fixture(policy: Self.policy())
        _ = try await fixture.auth.registerUser(email: "ada@example.com", password: "b4l0u")
        _ = try await fixture.auth.registerUser(email: "bob@example.com", password: "b0bb0b")
        guard case .issued(let older) = try await fixture.auth.requestEmailVerification(for: "ada@example.com"),
            case .issued(let newer) = try await fixture.auth.requestEmailVerification(for: "ada@example.com")
        else {
            Issue.record("no token in the answer")
            return
        }
        for (token, email) in [
            (older.token, "ada@example.com"), (newer.token, "bob@example.com"), ("short", "ada@example.com"),
        ] {
            await #expect(throws: AuthError.invalidVerificationToken) {
                _ = try await fixture.auth.verifyEmail(token: token, email: email)
            }
        }
        fixture.clock.advance(by: 86_400)
        await #expect(throws: AuthError.invalidVerificationToken) {
            _ = try await fixture.auth.verifyEmail(token: newer.token, email: "ada@example.com")
        }
    }

    @Test("wrong tokens count toward the reset-token throttle of the address; requests toward their own hourly limit")
    func throttles() async throws {
        var policy = Self.policy()
        policy.resetTokenThrottle = FailureThrottle(maxFailures: 2, firstWait: 60)
        policy.verificationRequestLimit = RequestLimit(maxRequests: 2)
        let fixture = try await Fixture(policy: policy)
        _ = try await fixture.auth.registerUser(email: "ada@example.com", password: "b4l0u")
        for _ in 0..<2 {
            _ = try await fixture.auth.requestEmailVerification(for: "ada@example.com")
        }
        await #expect(throws: AuthError.throttled(retryAfter: 3600)) {
            _ = try await fixture.auth.requestEmailVerification(for: "ada@example.com")
        }
        // Reset requests keep a counter of their own.
        _ = try await fixture.auth.requestPasswordReset(for: "ada@example.com")
        for _ in 0..<2 {
            await #expect(throws: AuthError.invalidVerificationToken) {
                _ = try await fixture.auth.verifyEmail(token: SecretToken.generate(), email: "ada@example.com")
            }
        }
        await #expect(throws: AuthError.throttled(retryAfter: 60)) {
            _ = try await fixture.auth.verifyEmail(token: SecretToken.generate(), email: "ada@example.com")
        }
    }

    @Test("out of band: the same answer for every address; registration and requests send a token to the owner only")
    func outOfBand() async throws {
        let fixture = try await Fixture(policy: Self.policy(.webhook))
        let account = try await fixture.auth.registerUser(email: "ada@example.com", password: "b4l0u")
        let registered = try await Self.verificationNotices(fixture.notifier)
        #expect(registered.count == 1)
        let known = try await fixture.auth.requestEmailVerification(for: "ada@example.com")
        let unknown = try await fixture.auth.requestEmailVerification(for: "ghost@example.com")
        #expect(known == .accepted(email: "ada@example.com"))
        #expect(unknown == .accepted(email: "ghost@example.com"))
        let tokens = try await Self.verificationNotices(fixture.notifier, count: 2)
        #expect(
            (await fixture.notifier.events).allSatisfy { event in
                if case .emailVerificationRequested(let email, _, _) = event { return email == "ada@example.com" }
                return true
            })
        // The newest token replaced the registration's.
        await #expect(throws: AuthError.invalidVerificationToken) {
            _ = try await fixture.auth.verifyEmail(token: tokens[0], email: "ada@example.com")
        }
        #expect(try await fixture.auth.verifyEmail(token: tokens[1], email: "ada@example.com").id == account.id)
        // A verified address gets no more tokens, and the answer stays the same.
        #expect(
            try await fixture.auth.requestEmailVerification(for: "ada@example.com")
                == .accepted(email: "ada@example.com"))
        await fixture.auth.backgroundWorkSettled()
        #expect(try await Self.verificationNotices(fixture.notifier, count: 2).count == 2)
    }

    @Test("required: the right password for an unverified address is 403 and sends a token; a wrong one is 401")
    func required() async throws {
        let fixture = try await Fixture(policy: Self.policy(.log, .required))
        _ = try await fixture.auth.registerUser(email: "ada@example.com", password: "b4l0u")
        _ = try await Self.verificationNotices(fixture.notifier)
        #expect(await attempt(fixture.auth, "ada@example.com", "wrong-guess") == .invalidCredentials)
        #expect(await attempt(fixture.auth, "ada@example.com", "b4l0u") == .emailNotVerified)
        let tokens = try await Self.verificationNotices(fixture.notifier, count: 2)
        _ = try await fixture.auth.verifyEmail(token: tokens[1], email: "ada@example.com")
        #expect(await attempt(fixture.auth, "ada@example.com", "b4l0u") == nil)
    }

    @Test("a password reset through a token proves the mailbox: the address becomes verified")
    func resetVerifies() async throws {
        let fixture = try await Fixture(policy: Self.policy())
        let account = try await fixture.auth.registerUser(email: "ada@example.com", password: "b4l0u")
        guard case .issued(let issued) = try await fixture.auth.requestPasswordReset(for: "ada@example.com") else {
            Issue.record("no reset token")
            return
        }
        _ = try await fixture.auth.updatePassword(
            resetToken: issued.token, email: "ada@example.com", newPassword: "correct horse")
        #expect(try await fixture.store.findUser(by: .id(account.id))?.emailVerified == true)
    }

    @Test("with EMAIL_VERIFICATION=off there is nothing to verify, and nothing is sent")
    func off() async throws {
        let fixture = try await Fixture(policy: Self.policy(.webhook, .off))
        _ = try await fixture.auth.registerUser(email: "ada@example.com", password: "b4l0u")
        await #expect(throws: AuthError.emailVerificationOff) {
            _ = try await fixture.auth.requestEmailVerification(for: "ada@example.com")
        }
        await #expect(throws: AuthError.emailVerificationOff) {
            _ = try await fixture.auth.verifyEmail(token: SecretToken.generate(), email: "ada@example.com")
        }
        await fixture.auth.backgroundWorkSettled()
        #expect((await fixture.notifier.events).isEmpty)
        #expect(await attempt(fixture.auth, "ada@example.com", "b4l0u") == nil)
    }
}
