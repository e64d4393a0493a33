import Foundation
import LatchkeyTestSupport
import Testing

@testable import LatchkeyCore

@Suite("Email change")
struct EmailChangeTests {
    func loggedIn(_ fixture: Fixture) async throws -> (Account, String) {
        let account = try await fixture.auth.registerUser(email: "ada@example.com", password: "b4l0u")
        return (account, try await fixture.auth.createSession(for: fixture.auth.verifiedLogin(for: account)))
    }

    @Test("the change happens only with the new address's token; sessions stay; the old address is told")
    func change() async throws {
        let fixture = try await Fixture(policy: EmailVerificationTests.policy())
        let (account, token) = try await loggedIn(fixture)
        guard
            case .issued(let issued) = try await fixture.auth.changeEmail(
                sessionToken: token, password: "b4l0u", newEmail: "Ada.New@Example.com")
        else {
            Issue.record("no token in the answer")
            return
        }
        #expect(issued.email == "ada.new@example.com")
        #expect(
            (await fixture.notifier.events) == [
                .emailChangeStarted(email: "ada@example.com", newEmail: "ada.new@example.com")
            ])
        // Nothing has changed yet; the token works only with the new address.
        #expect(try await fixture.auth.account(sessionToken: token).email == "ada@example.com")
        await #expect(throws: AuthError.invalidVerificationToken) {
            _ = try await fixture.auth.verifyEmail(token: issued.token, email: "ada@example.com")
        }
        let changed = try await fixture.auth.verifyEmail(token: issued.token, email: "ada.new@example.com")
        #expect(changed.id == account.id && changed.email == "ada.new@example.com" && changed.emailVerified)
        #expect(try await fixture.auth.user(forSessionToken: token).email == "ada.new@example.com")
        #expect(
            (await fixture.notifier.events).last
                == .emailChanged(email: "ada@example.com", newEmail: "ada.new@example.com"))
        #expect(await attempt(fixture.auth, "ada.new@example.com", "b4l0u") == nil)
        #expect(await attempt(fixture.auth, "ada@example.com", "b4l0u") == .invalidCredentials)
        #expect(try await fixture.auth.activity(sessionToken: token).first?.kind == .emailChanged)
        // The old address is free again.
        _ = try await fixture.auth.registerUser(email: "ada@example.com", password: "an0ther")
    }

    @Test("out of band: the token goes to the new address, a notice to the current one")
    func outOfBand() async throws {
        let fixture = try await Fixture(policy: EmailVerificationTests.policy(.webhook))
        let (_, token) = try await loggedIn(fixture)
        let outcome = try await fixture.auth.changeEmail(
            sessionToken: token, password: "b4l0u", newEmail: "new@example.com")
        #expect(outcome == .accepted(email: "new@example.com"))
        // The token is issued after the answer: wait for it.
        await fixture.auth.backgroundWorkSettled()
        let requested = (await fixture.notifier.events).compactMap { event -> (String, String)? in
            if case .emailChangeRequested(let email, let token, _) = event { return (email, token) }
            return nil
        }
        #expect(requested.map(\.0) == ["new@example.com"])
        #expect(
            (await fixture.notifier.events).contains(
                .emailChangeStarted(email: "ada@example.com", newEmail: "new@example.com"))
        )
        _ = try await fixture.auth.verifyEmail(token: try #require(requested.first?.1), email: "new@example.com")
    }

    @Test("refusals: wrong password 401, malformed 400, own address 400, taken 400 unless concealed")
    func refusals() async throws {
        let fixture = try await Fixture(policy: EmailVerificationTests.policy())
        let (_, token) = try await loggedIn(fixture)
        _ = try await fixture.auth.registerUser(email: "bob@example.com", password: "b0bb0b")
        await #expect(throws: AuthError.wrongPassword) {
            _ = try await fixture.auth.changeEmail(sessionToken: token, password: "nope", newEmail: "new@example.com")
        }
        await #expect(throws: AuthError.self) {
            _ = try await fixture.auth.changeEmail(sessionToken: token, password: "b4l0u", newEmail: "not an address")
        }
        await #expect(throws: AuthError.invalidInput("new_email is already this account's address")) {
            _ = try await fixture.auth.changeEmail(sessionToken: token, password: "b4l0u", newEmail: "ADA@example.com")
        }
        await #expect(throws: AuthError.emailAlreadyRegistered) {
            _ = try await fixture.auth.changeEmail(sessionToken: token, password: "b4l0u", newEmail: "bob@example.com")
        }
        #expect((await fixture.notifier.events).isEmpty)
    }

    @Test("concealed (production): a taken address gets the answer of a free one, no token, and its owner is told")
    func concealed() async throws {
        var policy = EmailVerificationTests.policy(.webhook)
        policy.concealExistingAccounts = true
        let fixture = try await Fixture(policy: policy)
        let (_, token) = try await loggedIn(fixture)
        _ = try await fixture.auth.registerUser(email: "bob@example.com", password: "b0bb0b")
        let taken = try await fixture.auth.changeEmail(
            sessionToken: token, password: "b4l0u", newEmail: "bob@example.com")
        let free = try await fixture.auth.changeEmail(
            sessionToken: token, password: "b4l0u", newEmail: "new@example.com")
        #expect(taken == .accepted(email: "bob@example.com"))
        #expect(free == .accepted(email: "new@example.com"))
        #expect((await fixture.notifier.events).contains(.registrationAttemptExistingAccount(email: "bob@example.com")))
        await fixture.auth.backgroundWorkSettled()
        #expect((await fixture.notifier.events).contains { $0.name == "email_change_requested" })
        #expect(
            !(await fixture.notifier.events).contains { event in
                if case .emailChangeRequested(let email, _, _) = event { return email == "bob@example.com" }
                return false
            })
    }

    @Test("a new address registered by someone else before the token is used: 409, and nothing changes")
    func race() async throws {
        let fixture = try await Fixture(policy: EmailVerificationTests.policy())
        let (account, token) = try await loggedIn(fixture)
        guard
            case .issued(let issued) = try await fixture.auth.changeEmail(
                sessionToken: token, password: "b4l0u", newEmail: "new@example.com")
        else {
            Issue.record("no token in the answer")
            return
        }
        _ = try await fixture.auth.registerUser(email: "new@example.com", password: "squatter")
        await #expect(throws: AuthError.emailTaken) {
            _ = try await fixture.auth.verifyEmail(token: issued.token, email: "new@example.com")
        }
        #expect(try await fixture.store.findUser(by: .id(account.id))?.email == "ada@example.com")
    }

    @Test("a password reset cancels a pending email change: its token no longer moves the account")
    func resetCancelsChange() async throws {
        let fixture = try await Fixture(policy: EmailVerificationTests.policy())
        let (account, token) = try await loggedIn(fixture)
        guard
            case .issued(let change) = try await fixture.auth.changeEmail(
                sessionToken: token, password: "b4l0u", newEmail: "evil@example.com"),
            case .issued(let reset) = try await fixture.auth.requestPasswordReset(for: "ada@example.com")
        else {
            Issue.record("no tokens in the answers")
            return
        }
        _ = try await fixture.auth.updatePassword(
            resetToken: reset.token, email: "ada@example.com", newPassword: "correct horse")
        await #expect(throws: AuthError.invalidVerificationToken) {
            _ = try await fixture.auth.verifyEmail(token: change.token, email: "evil@example.com")
        }
        #expect(try await fixture.store.findUser(by: .id(account.id))?.email == "ada@example.com")
    }

    @Test("in production a taken address is answered as a free one in the requester's own mailbox too")
    func concealedInOwnMailbox() async throws {
        var policy = EmailVerificationTests.policy(.webhook)
        policy.concealExistingAccounts = true
        let fixture = try await Fixture(policy: policy)
        let (_, token) = try await loggedIn(fixture)
        _ = try await fixture.auth.registerUser(email: "bob@example.com", password: "b0bb0b")
        _ = try await fixture.auth.changeEmail(sessionToken: token, password: "b4l0u", newEmail: "bob@example.com")
        #expect(
            (await fixture.notifier.events).contains(
                .emailChangeStarted(email: "ada@example.com", newEmail: "bob@example.com"))
        )
    }

    @Test("an account among the email conflicts verifies the address it keeps")
    func conflictedAccountVerifies() async throws {
        let fixture = try await Fixture(policy: EmailVerificationTests.policy())
        // Two accounts stored before canonical forms, one NFC and one NFD: both keep their address.
        let nfc = try await fixture.store.addUser(email: "l\u{E9}a@example.com", passwordHash: "h", createdAt: Date())
        _ = try await fixture.store.addUser(email: "le\u{301}a@example.com", passwordHash: "h", createdAt: Date())
        try await fixture.store.canonicaliseEmails()
        guard case .issued(let issued) = try await fixture.auth.requestEmailVerification(for: "l\u{E9}a@example.com")
        else {
            Issue.record("no token in the answer")
            return
        }
        let verified = try await fixture.auth.verifyEmail(token: issued.token, email: "l\u{E9}a@example.com")
        #expect(verified.id == nfc.id && verified.emailVerified)
    }
}
