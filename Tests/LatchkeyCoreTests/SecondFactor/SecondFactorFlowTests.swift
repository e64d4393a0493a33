import Foundation
import LatchkeyTestSupport
import Testing

@testable import LatchkeyCore

@Suite("Second factor: enrolment and login")
struct SecondFactorFlowTests {
    @Test("enrolment needs the password and a code from the pending secret; it ends the other sessions")
    func enrolment() async throws {
        var mfa = try await SecondFactorFixture()
        let other = try await mfa.auth.createSession(
            for: mfa.auth.validLogin(email: "ada@example.com", password: "b4l0u"))
        await #expect(throws: AuthError.wrongPassword) {
            _ = try await mfa.auth.beginTOTPEnrolment(
                sessionToken: mfa.session, password: "wrong", origin: SessionOrigin())
        }
        await #expect(throws: AuthError.noPendingEnrolment) {
            _ = try await mfa.auth.confirmTOTPEnrolment(
                sessionToken: mfa.session, code: "123456", origin: SessionOrigin())
        }
        let first = try await mfa.auth.beginTOTPEnrolment(
            sessionToken: mfa.session, password: "b4l0u", origin: SessionOrigin())
        let second = try await mfa.auth.beginTOTPEnrolment(
            sessionToken: mfa.session, password: "b4l0u", origin: SessionOrigin())
        #expect(first.secret != second.secret && second.secret.count == 32)
        #expect(second.keyURI.hasPrefix("otpauth://totp/Latchkey:ada%40example.com?secret=\(second.secret)&"))
        // A code from the replaced secret is wrong.
        let replaced = Data(try first.secret.base32decoded())
        await #expect(throws: AuthError.wrongCode) {
            _ = try await mfa.auth.confirmTOTPEnrolment(
                sessionToken: mfa.session, code: TOTP.code(secret: replaced, at: mfa.fixture.clock.now),
                origin: SessionOrigin())
        }
        #expect(try await mfa.auth.account(sessionToken: mfa.session).secondFactorEnabled == false)
        let before = mfa.session
        try await mfa.enrol()
        #expect(mfa.recoveryCodes.count == 10 && Set(mfa.recoveryCodes).count == 10)
        // The confirming session has a new token at aal 2; the old token and the other session end.
        await #expect(throws: AuthError.invalidSession) { _ = try await mfa.auth.user(forSessionToken: before) }
        await #expect(throws: AuthError.invalidSession) { _ = try await mfa.auth.user(forSessionToken: other) }
        #expect(try await mfa.auth.userAndAssurance(forSessionToken: mfa.session).aal == 2)
        #expect(try await mfa.auth.sessions(sessionToken: mfa.session).map(\.aal) == [2])
        let account = try await mfa.auth.account(sessionToken: mfa.session)
        #expect(account.secondFactorEnabled && account.recoveryCodesLeft == 10)
        #expect((await mfa.fixture.notifier.events).contains { $0.name == "mfa_enabled" })
        #expect(try await mfa.auth.activity(sessionToken: mfa.session).map(\.kind).contains(.secondFactorEnabled))
        await #expect(throws: AuthError.secondFactorAlreadyActive) {
            _ = try await mfa.auth.beginTOTPEnrolment(
                sessionToken: mfa.session, password: "b4l0u", origin: SessionOrigin())
        }
    }

    @Test("without keys enrolment is not configured")
    func notConfigured() async throws {
        let mfa = try await SecondFactorFixture(policy: SecondFactorFixture.policy(keys: nil))
        await #expect(throws: AuthError.secondFactorNotConfigured) {
            _ = try await mfa.auth.beginTOTPEnrolment(
                sessionToken: mfa.session, password: "b4l0u", origin: SessionOrigin())
        }
        #expect(try await mfa.auth.secondFactorKeyProblem() == nil)
    }

    @Test("the right password gives a token, not a session; the token and a code make an aal 2 session once")
    func twoSteps() async throws {
        var mfa = try await SecondFactorFixture()
        try await mfa.enrol()
        let login = try await mfa.auth.validLogin(email: "ada@example.com", password: "b4l0u")
        await #expect(throws: AuthError.secondStepRequired) { _ = try await mfa.auth.createSession(for: login) }
        mfa.nextStep()
        let token = try await mfa.firstStep()
        #expect(SecretToken.isWellFormed(token))
        // A wrong code leaves the token usable.
        await #expect(throws: AuthError.wrongCode) {
            _ = try await mfa.auth.verifySecondStep(challenge: token, code: "000000")
        }
        let code = mfa.code()
        let verified = try await mfa.auth.verifySecondStep(challenge: token, code: code)
        let session = try await mfa.auth.createSession(for: verified)
        #expect(try await mfa.auth.userAndAssurance(forSessionToken: session).aal == 2)
        await #expect(throws: AuthError.invalidLoginChallenge) {
            _ = try await mfa.auth.verifySecondStep(challenge: token, code: mfa.code(1))
        }
        // The same code on another login is refused: each step is accepted once.
        let again = try await mfa.firstStep()
        await #expect(throws: AuthError.wrongCode) {
            _ = try await mfa.auth.verifySecondStep(challenge: again, code: code)
        }
        // So is the code of the step before; the next step's is accepted.
        await #expect(throws: AuthError.wrongCode) {
            _ = try await mfa.auth.verifySecondStep(challenge: again, code: mfa.code(-1))
        }
        _ = try await mfa.auth.verifySecondStep(challenge: again, code: mfa.code(1))
        await #expect(throws: AuthError.invalidLoginChallenge) {
            _ = try await mfa.auth.verifySecondStep(challenge: SecretToken.generate(), code: mfa.code(1))
        }
        await #expect(throws: AuthError.invalidLoginChallenge) {
            _ = try await mfa.auth.verifySecondStep(challenge: "short", code: "123456")
        }
    }

    @Test("a login whose password was checked before the factor became active gets no session")
    func loginInFlight() async throws {
        var mfa = try await SecondFactorFixture()
        let inFlight = try await mfa.auth.validLogin(email: "ada@example.com", password: "b4l0u")
        #expect(!inFlight.secondStepRequired)
        try await mfa.enrol()
        await #expect(throws: AuthError.invalidCredentials) { _ = try await mfa.auth.createSession(for: inFlight) }
        #expect(try await mfa.auth.sessions(sessionToken: mfa.session).count == 1)
    }

    @Test("the right password clears the login failures even before the code")
    func passwordClearsLoginFailures() async throws {
        var mfa = try await SecondFactorFixture()
        try await mfa.enrol()
        for _ in 0..<3 { _ = await attempt(mfa.auth, "ada@example.com", "wrong") }
        #expect(try await mfa.fixture.store.throttleRecord(ThrottleKey(.login, "ada@example.com")) != nil)
        _ = try await mfa.firstStep()
        #expect(try await mfa.fixture.store.throttleRecord(ThrottleKey(.login, "ada@example.com")) == nil)
    }

    @Test("a token expires after five minutes, and a password change voids it")
    func tokenLifetime() async throws {
        var mfa = try await SecondFactorFixture()
        try await mfa.enrol()
        mfa.nextStep()
        let expiring = try await mfa.firstStep()
        mfa.fixture.clock.advance(by: 301)
        await #expect(throws: AuthError.invalidLoginChallenge) {
            _ = try await mfa.auth.verifySecondStep(challenge: expiring, code: mfa.code())
        }
        let voided = try await mfa.firstStep()
        mfa.nextStep()
        _ = try await mfa.auth.changePassword(
            sessionToken: mfa.session, currentPassword: "b4l0u", newPassword: "n3w-pass", code: mfa.code(),
            origin: SessionOrigin())
        mfa.nextStep()
        await #expect(throws: AuthError.invalidLoginChallenge) {
            _ = try await mfa.auth.verifySecondStep(challenge: voided, code: mfa.code())
        }
    }

    @Test("the one-step form: a code with the password gives the session; a wrong one is a code failure")
    func oneStep() async throws {
        var mfa = try await SecondFactorFixture()
        try await mfa.enrol()
        mfa.nextStep()
        let login = try await mfa.auth.validLogin(email: "ada@example.com", password: "b4l0u")
        await #expect(throws: AuthError.wrongCode) { _ = try await mfa.auth.verifySecondStep(login, code: "999999") }
        let session = try await mfa.auth.createSession(for: mfa.auth.verifySecondStep(login, code: mfa.code()))
        #expect(try await mfa.auth.userAndAssurance(forSessionToken: session).aal == 2)
        let kinds = try await mfa.auth.activity(sessionToken: session).map(\.kind)
        #expect(kinds.contains(.secondFactorFailed))
    }

    @Test("a recovery code stands in for a code once, in any case and without separators; the owner is told")
    func recoveryCodes() async throws {
        var mfa = try await SecondFactorFixture()
        try await mfa.enrol()
        let typed = mfa.recoveryCodes[3].replacingOccurrences(of: "-", with: "").lowercased()
        let token = try await mfa.firstStep()
        let session = try await mfa.auth.createSession(for: mfa.auth.verifySecondStep(challenge: token, code: typed))
        #expect(try await mfa.auth.account(sessionToken: session).recoveryCodesLeft == 9)
        #expect(
            (await mfa.fixture.notifier.events).contains(
                .recoveryCodeUsed(email: "ada@example.com", at: mfa.fixture.clock.now, left: 9)))
        #expect(try await mfa.auth.activity(sessionToken: session).map(\.kind).contains(.recoveryCodeUsed))
        let again = try await mfa.firstStep()
        await #expect(throws: AuthError.wrongCode) {
            _ = try await mfa.auth.verifySecondStep(challenge: again, code: mfa.recoveryCodes[3])
        }
        // New codes replace the old ones.
        mfa.nextStep()
        let renewed = try await mfa.auth.regenerateRecoveryCodes(
            sessionToken: session, password: "b4l0u", code: mfa.code(), origin: SessionOrigin())
        #expect(renewed.count == 10 && Set(renewed).isDisjoint(with: mfa.recoveryCodes))
        #expect(try await mfa.auth.activity(sessionToken: session).first?.kind == .recoveryCodesRegenerated)
        await #expect(throws: AuthError.wrongCode) {
            _ = try await mfa.auth.verifySecondStep(challenge: again, code: mfa.recoveryCodes[0])
        }
        _ = try await mfa.auth.verifySecondStep(challenge: again, code: renewed[0])
        #expect(try await mfa.auth.account(sessionToken: session).recoveryCodesLeft == 9)
    }

    @Test("wrong codes are throttled per account, bursts included")
    func throttle() async throws {
        var policy = SecondFactorFixture.policy()
        policy.secondFactorThrottle = FailureThrottle(maxFailures: 3, firstWait: 60, maxWait: 900)
        var mfa = try await SecondFactorFixture(policy: policy)
        try await mfa.enrol()
        let token = try await mfa.firstStep()
        let auth = mfa.auth
        let outcomes = await withTaskGroup(of: AuthError?.self) { group in
            for _ in 0..<20 {
                group.addTask {
                    do {
                        _ = try await auth.verifySecondStep(challenge: token, code: "000000")
                        return nil
                    } catch let error as AuthError {
                        return error
                    } catch {
                        return .storageUnavailable
                    }
                }
            }
            return await group.reduce(into: [AuthError?]()) { $0.append($1) }
        }
        #expect(outcomes.filter { $0 == .wrongCode }.count == 3)
        #expect(outcomes.filter { if case .throttled = $0 { true } else { false } }.count == 17)
        // While the wait runs even the right code is refused, before any check.
        mfa.nextStep()
        await #expect(throws: AuthError.throttled(retryAfter: 30)) {
            _ = try await auth.verifySecondStep(challenge: token, code: mfa.code())
        }
        mfa.fixture.clock.advance(by: 31)
        let session = try await auth.createSession(for: auth.verifySecondStep(challenge: token, code: mfa.code()))
        #expect(try await auth.userAndAssurance(forSessionToken: session).aal == 2)
    }

    @Test("routes that ask for the password ask for a code too once a factor is active")
    func reauthentication() async throws {
        var mfa = try await SecondFactorFixture()
        try await mfa.enrol()
        await #expect(throws: AuthError.secondStepRequired) {
            _ = try await mfa.auth.endOtherSessions(sessionToken: mfa.session, password: "b4l0u")
        }
        await #expect(throws: AuthError.wrongCode) {
            _ = try await mfa.auth.endOtherSessions(sessionToken: mfa.session, password: "b4l0u", code: "000000")
        }
        await #expect(throws: AuthError.wrongPassword) {
            try await mfa.auth.deleteAccount(sessionToken: mfa.session, password: "nope", code: mfa.code(1))
        }
        mfa.nextStep()
        #expect(
            try await mfa.auth.endOtherSessions(sessionToken: mfa.session, password: "b4l0u", code: mfa.code()) == 0)
    }

    @Test("removing the factor needs the password and a code; logins then need the password alone")
    func disable() async throws {
        var mfa = try await SecondFactorFixture()
        await #expect(throws: AuthError.noActiveSecondFactor) {
            try await mfa.auth.disableTOTP(
                sessionToken: mfa.session, password: "b4l0u", code: "123456", origin: SessionOrigin())
        }
        try await mfa.enrol()
        mfa.nextStep()
        await #expect(throws: AuthError.secondStepRequired) {
            try await mfa.auth.disableTOTP(
                sessionToken: mfa.session, password: "b4l0u", code: nil, origin: SessionOrigin())
        }
        try await mfa.auth.disableTOTP(
            sessionToken: mfa.session, password: "b4l0u", code: mfa.code(), origin: SessionOrigin())
        #expect(
            (await mfa.fixture.notifier.events).contains(
                .secondFactorDisabled(email: "ada@example.com", at: mfa.fixture.clock.now)))
        let account = try await mfa.auth.account(sessionToken: mfa.session)
        #expect(!account.secondFactorEnabled && account.recoveryCodesLeft == 0)
        let login = try await mfa.auth.validLogin(email: "ada@example.com", password: "b4l0u")
        #expect(!login.secondStepRequired)
        #expect(try await mfa.auth.userAndAssurance(forSessionToken: mfa.auth.createSession(for: login)).aal == 1)
    }

    @Test("an operator's reset removes the factor and ends every session")
    func operatorReset() async throws {
        var mfa = try await SecondFactorFixture()
        #expect(try await mfa.auth.resetSecondFactor(email: "ada@example.com") == false)
        try await mfa.enrol()
        #expect(try await mfa.auth.resetSecondFactor(email: "ADA@example.com") == true)
        await #expect(throws: AuthError.invalidSession) { _ = try await mfa.auth.user(forSessionToken: mfa.session) }
        #expect((await mfa.fixture.notifier.events).contains { $0.name == "mfa_disabled" })
        #expect(try await mfa.auth.resetSecondFactor(email: "nobody@example.com") == nil)
        #expect(!(try await mfa.auth.validLogin(email: "ada@example.com", password: "b4l0u").secondStepRequired))
    }

    @Test("a secret under an older key still works and is sealed again under the current key")
    func keyRotation() async throws {
        var mfa = try await SecondFactorFixture()
        try await mfa.enrol()
        let store = mfa.fixture.store
        let sealedA = try #require(try await store.secondFactor(userID: mfa.account.id)?.secret)
        let rotated = try await Auth(
            store: store, hasher: mfa.fixture.hasher,
            policy: SecondFactorFixture.policy(
                keys: try SecondFactorKeyring(current: SecondFactorFixture.keyB, previous: [SecondFactorFixture.keyA])),
            clock: { [clock = mfa.fixture.clock] in clock.now })
        #expect(try await rotated.secondFactorKeyProblem() == nil)
        let onlyB = try await Auth(
            store: store, hasher: mfa.fixture.hasher,
            policy: SecondFactorFixture.policy(keys: try SecondFactorKeyring(current: SecondFactorFixture.keyB)))
        #expect(try await onlyB.secondFactorKeyProblem() != nil)
        let none = try await Auth(
            store: store, hasher: mfa.fixture.hasher, policy: SecondFactorFixture.policy(keys: nil))
        #expect(try await none.secondFactorKeyProblem() != nil)
        // Recovery codes made under the older key still match.
        let token = try await rotated.issueLoginChallenge(
            for: rotated.validLogin(email: "ada@example.com", password: "b4l0u"))
        _ = try await rotated.verifySecondStep(challenge: token, code: mfa.recoveryCodes[0])
        mfa.nextStep()
        let next = try await rotated.issueLoginChallenge(
            for: rotated.validLogin(email: "ada@example.com", password: "b4l0u"))
        _ = try await rotated.verifySecondStep(challenge: next, code: mfa.code())
        let sealedB = try #require(try await store.secondFactor(userID: mfa.account.id)?.secret)
        #expect(sealedB != sealedA)
        #expect(try await onlyB.secondFactorKeyProblem() == nil)
    }
}
