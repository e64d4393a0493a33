import ExtrasBase64
import Foundation
import LatchkeyTestSupport
import Testing

@testable import LatchkeyCore

/// The login's entry points, which every surface calls: `logIn` and `continueLogIn`.
@Suite("Log in: the entry points")
struct LogInTests {
    /// A code that must never be read: the test fails if it is.
    struct UnreadCode: Error {}

    /// Reading this code throws `UnreadCode`.
    static func unreadableCode() throws -> String? {
        throw UnreadCode()
    }

    @Test("logIn: the session for the right password; a code is read first, and ignored without a second factor")
    func loggedIn() async throws {
        let fixture = try await Fixture()
        _ = try await fixture.auth.registerUser(email: "ada@example.com", password: "b4l0u")
        // The code is read before the password is checked, whatever the account: a surface's
        // error reading it comes first, even with a wrong password.
        await #expect(throws: UnreadCode.self) {
            _ = try await fixture.auth.logIn(
                email: "ada@example.com", password: "wrong", code: try Self.unreadableCode())
        }
        #expect(await fixture.store.throttleRecordCount == 0)
        let outcome = try await fixture.auth.logIn(email: "ADA@example.com", password: "b4l0u", code: "123 456")
        guard case .loggedIn(let grant) = outcome else {
            Issue.record("expected a session, got \(outcome)")
            return
        }
        #expect(grant.email == "ada@example.com")
        #expect(grant.maxAge == fixture.auth.policy.sessionLifetime)
        #expect(try await fixture.auth.user(forSessionToken: grant.token).email == "ada@example.com")
        #expect(
            try await fixture.auth.activity(sessionToken: grant.token).map(\.kind) == [.loginSucceeded, .registered])
        await #expect(throws: AuthError.invalidCredentials) {
            _ = try await fixture.auth.logIn(email: "ada@example.com", password: "wrong")
        }
    }

    @Test("logIn with a second factor: a challenge without a code, the session with one, an unreadable code thrown")
    func secondStep() async throws {
        var mfa = try await SecondFactorFixture()
        try await mfa.enrol()
        mfa.nextStep()
        let outcome = try await mfa.auth.logIn(email: "ada@example.com", password: "b4l0u")
        guard case .secondStepRequired(let challenge) = outcome else {
            Issue.record("expected a challenge, got \(outcome)")
            return
        }
        #expect(SecretToken.isWellFormed(challenge))
        await #expect(throws: UnreadCode.self) {
            _ = try await mfa.auth.logIn(email: "ada@example.com", password: "b4l0u", code: try Self.unreadableCode())
        }
        let grant = try await mfa.auth.continueLogIn(challenge: challenge, code: mfa.code())
        #expect(grant.email == "ada@example.com")
        #expect(try await mfa.auth.userAndAssurance(forSessionToken: grant.token).aal == 2)
        // Each challenge makes one session.
        mfa.nextStep()
        await #expect(throws: AuthError.invalidLoginChallenge) {
            _ = try await mfa.auth.continueLogIn(challenge: challenge, code: mfa.code())
        }
        // The code sent with the password: the session at once, at aal 2.
        guard
            case .loggedIn(let direct) = try await mfa.auth.logIn(
                email: "ada@example.com", password: "b4l0u", code: mfa.recoveryCodes[0])
        else {
            Issue.record("expected a session")
            return
        }
        #expect(try await mfa.auth.userAndAssurance(forSessionToken: direct.token).aal == 2)
    }

    @Test("continueLogIn checks again what the first step checked: the password, the factor, the verified address")
    func continuationRechecks() async throws {
        var policy = SecondFactorFixture.policy()
        policy.emailVerification = .required
        let fixture = try await Fixture(policy: policy)
        let auth = fixture.auth
        let account = try await auth.registerUser(email: "ada@example.com", password: "b4l0u")
        #expect(try await fixture.store.setEmailVerified(userID: account.id, true))
        let session = try await auth.createSession(for: auth.validLogin(email: "ada@example.com", password: "b4l0u"))
        let enrolment = try await auth.beginTOTPEnrolment(
            sessionToken: session, password: "b4l0u", origin: SessionOrigin())
        let secret = Data(try enrolment.secret.base32decoded())
        _ = try await auth.confirmTOTPEnrolment(
            sessionToken: session, code: TOTP.code(secret: secret, at: fixture.clock.now), origin: SessionOrigin())
        fixture.clock.advance(by: 30)
        guard
            case .secondStepRequired(let challenge) = try await auth.logIn(email: "ada@example.com", password: "b4l0u")
        else {
            Issue.record("expected a challenge")
            return
        }
        // The address stops being verified between the steps: the second step refuses, and the
        // challenge is not used up by the refusal.
        #expect(try await fixture.store.setEmailVerified(userID: account.id, false))
        await #expect(throws: AuthError.emailNotVerified) {
            _ = try await auth.continueLogIn(
                challenge: challenge, code: TOTP.code(secret: secret, at: fixture.clock.now))
        }
        #expect(try await fixture.store.setEmailVerified(userID: account.id, true))
        let grant = try await auth.continueLogIn(
            challenge: challenge, code: TOTP.code(secret: secret, at: fixture.clock.now))
        #expect(grant.email == "ada@example.com")
        // The password changes between the steps: the challenge is void.
        fixture.clock.advance(by: 30)
        guard case .secondStepRequired(let second) = try await auth.logIn(email: "ada@example.com", password: "b4l0u")
        else {
            Issue.record("expected a challenge")
            return
        }
        _ = try await auth.changePassword(
            sessionToken: grant.token, currentPassword: "b4l0u", newPassword: "correct horse",
            code: TOTP.code(secret: secret, at: fixture.clock.now), origin: SessionOrigin())
        fixture.clock.advance(by: 30)
        await #expect(throws: AuthError.invalidLoginChallenge) {
            _ = try await auth.continueLogIn(challenge: second, code: TOTP.code(secret: secret, at: fixture.clock.now))
        }
    }
    @Test("an operator's rename between the steps: the code step refuses as the password step does")
    func renameBetweenTheSteps() async throws {
        var policy = SecondFactorFixture.policy()
        policy.emailVerification = .required
        var mfa = try await SecondFactorFixture(policy: policy)
        try await mfa.enrol()
        mfa.nextStep()
        let challenge = try await mfa.firstStep()
        // The rename leaves the new address unverified: both login forms now refuse, and the
        // challenge issued before the rename makes no session either.
        #expect(try await mfa.auth.renameUser(id: mfa.account.id, to: "ada.l@example.com") == "ada.l@example.com")
        await #expect(throws: AuthError.emailNotVerified) {
            _ = try await mfa.auth.logIn(email: "ada.l@example.com", password: "b4l0u", code: mfa.code())
        }
        await #expect(throws: AuthError.emailNotVerified) {
            _ = try await mfa.auth.continueLogIn(challenge: challenge, code: mfa.code())
        }
        #expect(try await mfa.auth.sessions(sessionToken: mfa.session).count == 1)
    }

    @Test("an activity entry that cannot be written loses the entry, never the login")
    func activityFailureKeepsTheLogin() async throws {
        let fixture = try await Fixture()
        _ = try await fixture.auth.registerUser(email: "ada@example.com", password: "b4l0u")
        await fixture.store.setFailingActivity(true)
        guard case .loggedIn(let grant) = try await fixture.auth.logIn(email: "ada@example.com", password: "b4l0u")
        else {
            Issue.record("expected a session")
            return
        }
        #expect(try await fixture.auth.user(forSessionToken: grant.token).email == "ada@example.com")
        #expect(fixture.log.text.contains("could not record account activity"))
        await fixture.store.setFailingActivity(false)
        #expect(try await fixture.auth.activity(sessionToken: grant.token).map(\.kind) == [.registered])
    }
}
