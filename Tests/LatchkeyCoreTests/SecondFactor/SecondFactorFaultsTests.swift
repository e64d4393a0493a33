import ExtrasBase64
import Foundation
import LatchkeyTestSupport
import Testing

@testable import LatchkeyCore

/// Faults other account systems shipped in their second factor, each as a kind: a factor planted
/// on an address nobody proved (runbox7 #1659), codes typed as people type them
/// (two_factor_authentication #155), changes of the factor racing each other (Cleanuparr #736),
/// and sessions that keep level 2 once the factor is gone (mozilla/fxa #7155).
@Suite("Second factor: faults other systems shipped")
struct SecondFactorFaultsTests {
    // MARK: A factor needs a proven address

    @Test("no factor is enrolled before the address is verified, unless verification is off")
    func enrolmentNeedsAVerifiedAddress() async throws {
        for mode in [EmailVerification.optional, .off] {
            var policy = SecondFactorFixture.policy()
            policy.emailVerification = mode
            let fixture = try await Fixture(policy: policy)
            let auth = fixture.auth
            _ = try await auth.registerUser(email: "eve@example.com", password: "b4l0u")
            let session = try await auth.createSession(
                for: auth.validLogin(email: "eve@example.com", password: "b4l0u"))
            guard mode != .off else {
                _ = try await auth.beginTOTPEnrolment(sessionToken: session, password: "b4l0u", origin: SessionOrigin())
                continue
            }
            // Decided before the password: a wrong one gets the same answer and is not counted.
            for password in ["b4l0u", "wrong"] {
                await #expect(throws: AuthError.emailVerificationRequiredFirst) {
                    _ = try await auth.beginTOTPEnrolment(
                        sessionToken: session, password: password, origin: SessionOrigin())
                }
            }
            #expect(try await auth.activity(sessionToken: session).map(\.kind).contains(.loginFailed) == false)
            #expect(try await fixture.store.secondFactor(userID: 1) == nil)
        }
    }

    @Test("an address that stops being verified during an enrolment stops its confirmation")
    func confirmationNeedsAVerifiedAddress() async throws {
        let mfa = try await SecondFactorFixture()
        let enrolment = try await mfa.auth.beginTOTPEnrolment(
            sessionToken: mfa.session, password: "b4l0u", origin: SessionOrigin())
        #expect(try await mfa.auth.renameUser(id: mfa.account.id, to: "ada.l@example.com") == "ada.l@example.com")
        let secret = Data(try enrolment.secret.base32decoded())
        await #expect(throws: AuthError.emailVerificationRequiredFirst) {
            _ = try await mfa.auth.confirmTOTPEnrolment(
                sessionToken: mfa.session, code: TOTP.code(secret: secret, at: mfa.fixture.clock.now),
                origin: SessionOrigin())
        }
        #expect(try await mfa.fixture.store.secondFactor(userID: mfa.account.id)?.isActive == false)
    }

    // MARK: Codes as people type them

    /// A code as a person may type or paste it: what the app shows, what a web page copies, what
    /// an input method gives.
    static func spellings(of code: String) -> [String] {
        let digits = Array(code)
        let (first, last) = (String(digits[0..<3]), String(digits[3...]))
        let fullwidth = String(
            String.UnicodeScalarView(code.unicodeScalars.map { Unicode.Scalar($0.value - 0x30 + 0xFF10)! }))
        return [
            "\(first) \(last)", " \(code)", "\(code) ", "\(code)\n", "\t\(code)\r\n", "\(first)\u{00A0}\(last)",
            "\(first)\u{202F}\(last)", "\(first)\u{2009}\(last)", "\(first)-\(last)", "\(first)\u{2010}\(last)",
            "\(first)\u{2013}\(last)", "\(first)\u{2014}\(last)", "\(first)\u{2015}\(last)", fullwidth,
            "\u{3000}\(fullwidth)\u{3000}", "\(first)\u{FF0D}\(last)",
        ]
    }

    @Test("a one-time code is accepted however it is spaced, dashed or written in fullwidth digits")
    func oneTimeCodeSpellings() async throws {
        var mfa = try await SecondFactorFixture()
        try await mfa.enrol()
        for typed in Self.spellings(of: "123456") {
            #expect(try SecondFactorCode(typed: typed) == .oneTime("123456"), "\(typed.debugDescription)")
        }
        // Each spelling of the current code, one step apart, makes an aal 2 login.
        for index in Self.spellings(of: "000000").indices {
            mfa.nextStep()
            let typed = Self.spellings(of: mfa.code())[index]
            let challenge = try await mfa.firstStep()
            let login = try await mfa.auth.verifySecondStep(challenge: challenge, code: typed)
            #expect(login.aal == 2, "\(typed.debugDescription)")
        }
    }

    @Test("a recovery code is accepted in either case, with any white space or dashes between its groups")
    func recoveryCodeSpellings() async throws {
        var mfa = try await SecondFactorFixture()
        try await mfa.enrol()
        let groups = mfa.recoveryCodes.map { $0.split(separator: "-").map(String.init) }
        let spellings = [
            groups[0].joined(separator: " ").lowercased(), groups[1].joined(separator: "\u{2013}"),
            " " + groups[2].joined() + "\n", groups[3].joined(separator: "\u{00A0}").lowercased(),
        ]
        for typed in spellings {
            let challenge = try await mfa.firstStep()
            #expect(try await mfa.auth.verifySecondStep(challenge: challenge, code: typed).aal == 2)
        }
        #expect(try await mfa.fixture.store.secondFactor(userID: mfa.account.id)?.recoveryCodesLeft == 6)
    }

    @Test("a code that holds nothing is no code; one of neither shape is refused first and never counted")
    func codeShapes() async throws {
        var policy = SecondFactorFixture.policy()
        policy.secondFactorThrottle = FailureThrottle(maxFailures: 2, firstWait: 60, maxWait: 60)
        var mfa = try await SecondFactorFixture(policy: policy)
        try await mfa.enrol()
        for empty in ["", " ", "\n", "-", "\u{00A0}\u{2014}"] {
            #expect(try SecondFactorCode(typed: empty) == nil)
            guard
                case .secondStepRequired = try await mfa.auth.logIn(
                    email: "ada@example.com", password: "b4l0u", code: empty)
            else {
                Issue.record("\(empty.debugDescription) should ask for the code")
                continue
            }
            let challenge = try await mfa.firstStep()
            await #expect(throws: AuthError.secondStepRequired) {
                _ = try await mfa.auth.continueLogIn(challenge: challenge, code: empty)
            }
        }
        let wrongShapes = [
            "12345", "1234567", "abcdef", "12345a", "\u{0661}\u{0662}\u{0663}\u{0664}\u{0665}\u{0666}",
            "123\u{200B}456", "12.345", "ABCD-EFGH-JKLM-NPQR-STUV-WXY", "ABCD-EFGH-JKLM-NPQR-STUV-WXYZ1",
            "ABCD-EFGH-JKLM-NPQR-STUV-WXY0",
        ]
        let challenge = try await mfa.firstStep()
        for typed in wrongShapes {
            let refusal = AuthError.invalidInput(SecondFactorCode.shapeProblem)
            await #expect(throws: refusal, "\(typed.debugDescription)") {
                _ = try await mfa.auth.continueLogIn(challenge: challenge, code: typed)
            }
            // Before the password: a wrong one is not what is answered, and nothing is counted.
            await #expect(throws: refusal) {
                _ = try await mfa.auth.logIn(email: "ada@example.com", password: "wrong", code: typed)
            }
            await #expect(throws: refusal) {
                _ = try await mfa.auth.disableTOTP(
                    sessionToken: mfa.session, password: "wrong", code: typed, origin: SessionOrigin())
            }
        }
        // Over the throttle's two failures many times, yet the right code and password still work.
        #expect(
            try await mfa.auth.activity(sessionToken: mfa.session).map(\.kind).contains(.secondFactorFailed) == false)
        #expect(try await mfa.auth.activity(sessionToken: mfa.session).map(\.kind).contains(.loginFailed) == false)
        mfa.nextStep()
        let grant = try await mfa.auth.continueLogIn(challenge: challenge, code: mfa.code())
        #expect(grant.email == "ada@example.com")
    }

    @Test("a code of neither shape is refused even for an account without a factor; a good one is ignored")
    func codeShapeWithoutAFactor() async throws {
        let fixture = try await Fixture()
        _ = try await fixture.auth.registerUser(email: "bob@example.com", password: "b4l0u")
        await #expect(throws: AuthError.invalidInput(SecondFactorCode.shapeProblem)) {
            _ = try await fixture.auth.logIn(email: "bob@example.com", password: "b4l0u", code: "12 34")
        }
        guard
            case .loggedIn = try await fixture.auth.logIn(email: "bob@example.com", password: "b4l0u", code: "12 34 56")
        else {
            Issue.record("a well-formed code is ignored without a factor")
            return
        }
    }

    // MARK: Changes of the factor racing each other

    /// Runs `held` on the racing `Auth` until its password check, lets `landing` run to its end,
    /// then lets `held` go on; returns what `held` gave.
    static func race<T: Sendable>(
        _ latch: LatchedHasher, held: @escaping @Sendable () async throws -> T, landing: () async throws -> Void
    ) async throws -> Result<T, any Error> {
        let task = Task { await outcome(held) }
        await latch.waitUntilHolding()
        try await landing()
        await latch.release()
        return await task.value
    }

    /// What an `async` call gave, error or value.
    static func outcome<T>(_ body: () async throws -> T) async -> Result<T, any Error> {
        do { return .success(try await body()) } catch { return .failure(error) }
    }

    /// ada with an active factor, and a second `Auth` over the same store whose first password
    /// check waits until released: a request held there has read the factor's state and not yet
    /// changed anything, while another request runs to its end.
    static func racing() async throws -> (mfa: SecondFactorFixture, racing: Auth, latch: LatchedHasher) {
        var mfa = try await SecondFactorFixture()
        try await mfa.enrol()
        mfa.nextStep()
        let clock = mfa.fixture.clock
        let latch = LatchedHasher()
        let racing = try await Auth(
            store: mfa.fixture.store, hasher: latch, policy: SecondFactorFixture.policy(),
            logger: CapturedLog().logger, clock: { clock.now })
        return (mfa, racing, latch)
    }

    @Test("a regeneration that began before another one landed answers 409, not codes that never work")
    func concurrentRegenerations() async throws {
        let (mfa, racing, latch) = try await Self.racing()
        let (session, code) = (mfa.session, mfa.code())
        var landed: [String] = []
        let result = try await Self.race(latch) {
            try await racing.regenerateRecoveryCodes(
                sessionToken: session, password: "b4l0u", code: code, origin: SessionOrigin())
        } landing: {
            landed = try await mfa.auth.regenerateRecoveryCodes(
                sessionToken: session, password: "b4l0u", code: mfa.recoveryCodes[0], origin: SessionOrigin())
        }
        guard case .failure(AuthError.accountChanged) = result else {
            Issue.record("the later regeneration should answer accountChanged: \(result)")
            return
        }
        // The codes answered are the ones that work.
        for code in landed.prefix(3) {
            let challenge = try await mfa.firstStep()
            #expect(try await mfa.auth.verifySecondStep(challenge: challenge, code: code).aal == 2)
        }
        #expect(try await mfa.fixture.store.secondFactor(userID: mfa.account.id)?.recoveryCodesLeft == 7)
    }

    @Test("a removal that began before a regeneration landed answers 409 and removes nothing")
    func removalRacesRegeneration() async throws {
        let (mfa, racing, latch) = try await Self.racing()
        let (session, code) = (mfa.session, mfa.code())
        var landed: [String] = []
        let result = try await Self.race(latch) {
            try await racing.disableTOTP(sessionToken: session, password: "b4l0u", code: code, origin: SessionOrigin())
        } landing: {
            landed = try await mfa.auth.regenerateRecoveryCodes(
                sessionToken: session, password: "b4l0u", code: mfa.recoveryCodes[0], origin: SessionOrigin())
        }
        guard case .failure(AuthError.accountChanged) = result else {
            Issue.record("the removal should answer accountChanged: \(result)")
            return
        }
        let factor = try await mfa.fixture.store.secondFactor(userID: mfa.account.id)
        #expect(factor?.isActive == true && factor?.recoveryCodesLeft == landed.count)
    }

    @Test("an enrolment that began before another one landed answers 409; the secret answered works")
    func concurrentEnrolments() async throws {
        let fixture = try await Fixture(policy: SecondFactorFixture.policy())
        let account = try await fixture.auth.registerUser(email: "ada@example.com", password: "b4l0u")
        #expect(try await fixture.store.setEmailVerified(userID: account.id, true))
        let session = try await fixture.auth.createSession(
            for: fixture.auth.validLogin(email: "ada@example.com", password: "b4l0u"))
        let clock = fixture.clock
        let latch = LatchedHasher()
        let racing = try await Auth(
            store: fixture.store, hasher: latch, policy: SecondFactorFixture.policy(), logger: CapturedLog().logger,
            clock: { clock.now })
        var landed: TOTPEnrolment?
        let result = try await Self.race(latch) {
            try await racing.beginTOTPEnrolment(sessionToken: session, password: "b4l0u", origin: SessionOrigin())
        } landing: {
            landed = try await fixture.auth.beginTOTPEnrolment(
                sessionToken: session, password: "b4l0u", origin: SessionOrigin())
        }
        guard case .failure(AuthError.accountChanged) = result else {
            Issue.record("the later enrolment should answer accountChanged: \(result)")
            return
        }
        let secret = Data(try #require(landed).secret.base32decoded())
        let confirmed = try await fixture.auth.confirmTOTPEnrolment(
            sessionToken: session, code: TOTP.code(secret: secret, at: clock.now), origin: SessionOrigin())
        #expect(confirmed.recoveryCodes.count == 10)
    }

    // MARK: The right password without the code leaves a trace

    /// How many `password_used_without_second_factor` notices the fixture's notifier got.
    static func notices(_ mfa: SecondFactorFixture) async -> Int {
        (await mfa.fixture.notifier.events).filter { $0.name == "password_used_without_second_factor" }.count
    }

    @Test("the right password without a code is recorded; a wrong code tells the owner at once, once an hour")
    func wrongCodeNotice() async throws {
        var mfa = try await SecondFactorFixture()
        try await mfa.enrol()
        guard
            case .secondStepRequired(let challenge) = try await mfa.auth.logIn(
                email: "ada@example.com", password: "b4l0u")
        else {
            Issue.record("expected a challenge")
            return
        }
        #expect(try await mfa.auth.activity(sessionToken: mfa.session).first?.kind == .loginSecondFactorRequired)
        #expect(await Self.notices(mfa) == 0)
        for _ in 0..<2 {
            await #expect(throws: AuthError.wrongCode) {
                _ = try await mfa.auth.continueLogIn(challenge: challenge, code: "000000")
            }
        }
        // The one-step form too, but the hour's notice went already.
        await #expect(throws: AuthError.wrongCode) {
            _ = try await mfa.auth.logIn(email: "ada@example.com", password: "b4l0u", code: "000000")
        }
        #expect(await Self.notices(mfa) == 1)
        mfa.fixture.clock.advance(by: 3600)
        await #expect(throws: AuthError.wrongCode) {
            _ = try await mfa.auth.logIn(email: "ada@example.com", password: "b4l0u", code: "000000")
        }
        #expect(await Self.notices(mfa) == 2)
    }

    @Test("a login token that expires without a code tells the owner once, whichever node looks; a completed one never")
    func abandonedLoginNotice() async throws {
        var policy = SecondFactorFixture.policy()
        policy.loginChallengeLifetime = 60
        var mfa = try await SecondFactorFixture(policy: policy)
        try await mfa.enrol()
        mfa.nextStep()
        let completed = try await mfa.firstStep()
        _ = try await mfa.auth.continueLogIn(challenge: completed, code: mfa.code())
        _ = try await mfa.firstStep()
        // Not yet expired: nothing taken.
        #expect(try await mfa.auth.noticeAbandonedLogins() == 0)
        mfa.fixture.clock.advance(by: 60)
        // Another node over the same database, looking at the same moment.
        let clock = mfa.fixture.clock
        let other = try await Auth(
            store: mfa.fixture.store, hasher: FastHasher(), policy: policy,
            logger: CapturedLog().logger, clock: { clock.now })
        let auth = mfa.auth
        async let here = auth.noticeAbandonedLogins()
        async let there = other.noticeAbandonedLogins()
        #expect(try await here + there == 1)
        #expect(await Self.notices(mfa) == 1)
        // Another abandoned login within the hour: taken, but no second notice.
        _ = try await mfa.firstStep()
        mfa.fixture.clock.advance(by: 60)
        let purged = try await mfa.auth.purgeExpired()
        #expect(purged.loginChallenges == 1)
        #expect(await Self.notices(mfa) == 1)
        let event = try #require(
            (await mfa.fixture.notifier.events).last { $0.name == "password_used_without_second_factor" })
        #expect(event.fields["email"] == "ada@example.com")
    }

    // MARK: Level 2 ends with the factor

    @Test("removing the factor brings every session of the account to level 1")
    func removalLowersTheLevel() async throws {
        var mfa = try await SecondFactorFixture()
        try await mfa.enrol()
        mfa.nextStep()
        guard
            case .loggedIn(let other) = try await mfa.auth.logIn(
                email: "ada@example.com", password: "b4l0u", code: mfa.code())
        else {
            Issue.record("expected a session")
            return
        }
        #expect(try await mfa.auth.userAndAssurance(forSessionToken: other.token).aal == 2)
        try await mfa.auth.disableTOTP(
            sessionToken: mfa.session, password: "b4l0u", code: mfa.recoveryCodes[0], origin: SessionOrigin())
        for token in [mfa.session, other.token] {
            #expect(try await mfa.auth.userAndAssurance(forSessionToken: token).aal == 1)
        }
        #expect(try await mfa.auth.sessions(sessionToken: mfa.session).map(\.aal) == [1, 1])
    }
}

/// A hasher whose first verification waits until `release()`; the others go through.
actor LatchedHasher: PasswordHasher {
    let inner = FastHasher()
    private var used = false
    private var latch: CheckedContinuation<Void, Never>?

    func hash(_ password: String) async throws -> String {
        try await inner.hash(password)
    }

    func verify(_ password: String, against hash: String) async throws -> Bool {
        let result = try await inner.verify(password, against: hash)
        if !used {
            used = true
            await withCheckedContinuation { latch = $0 }
        }
        return result
    }

    /// Returns once the first verification is waiting.
    func waitUntilHolding() async {
        while latch == nil { await Task.yield() }
    }

    /// Lets the waiting verification go on.
    func release() {
        latch?.resume()
        latch = nil
    }

    nonisolated func needsRehash(_ hash: String) -> Bool {
        inner.needsRehash(hash)
    }
}
