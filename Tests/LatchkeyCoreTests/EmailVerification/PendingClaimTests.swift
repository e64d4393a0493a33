import Foundation
import LatchkeyTestSupport
import Testing

@testable import LatchkeyCore

/// Pre-registration takeover (better-auth #11023, keycloak #48206): someone registers an address
/// they do not own; its owner registers too, then follows the verification link that reached their
/// mailbox. Whoever proves the mailbox with a password of their choosing is the only one who can
/// log in afterwards.
@Suite("Email verification: pending claims and the proof of the mailbox")
struct PendingClaimTests {
    /// Production's rules (accounts concealed, a reset ends the sessions), with the token in the
    /// answer so that the tests can follow "the link".
    static func policy(endingSessions: Bool = true) -> AuthPolicy {
        var policy = AuthPolicy()
        policy.concealExistingAccounts = true
        policy.resetEndsSessions = endingSessions
        policy.tokenDelivery = .response
        policy.verificationTokenTTL = 3600
        return policy
    }

    /// The squatter's account on ada's address (password `squatter-pass`) with a live session, and
    /// ada's own registration of it (`owner-pass`), kept as the pending claim.
    struct Squatted {
        let fixture: Fixture
        let account: Account
        let squatterSession: String

        var auth: Auth { fixture.auth }

        init(policy: AuthPolicy = PendingClaimTests.policy()) async throws {
            fixture = try await Fixture(policy: policy)
            account = try await fixture.auth.registerUser(email: "ada@example.com", password: "squatter-pass")
            squatterSession = try await fixture.auth.createSession(
                for: fixture.auth.validLogin(email: "ada@example.com", password: "squatter-pass"))
            let again = try await fixture.auth.registerUser(email: "Ada@Example.com", password: "owner-pass")
            // The same answer as for a new account.
            #expect(again.email == "ada@example.com")
        }

        /// The token that reaches ada's mailbox.
        func link() async throws -> String {
            guard case .issued(let issued) = try await auth.requestEmailVerification(for: "ada@example.com") else {
                Issue.record("expected the token in the answer")
                return ""
            }
            return issued.token
        }

        /// Whether `password` logs in to ada's account.
        func logsIn(_ password: String) async -> Bool {
            await attempt(auth, "ada@example.com", password) == nil
        }
    }

    @Test("a registration of an unverified address is kept as its claim, with no token; the owner is told")
    func claimIsKept() async throws {
        let squatted = try await Squatted()
        let claim = try #require(try await squatted.fixture.store.pendingClaim(userID: squatted.account.id))
        #expect(claim.expiresAt == claim.createdAt.addingTimeInterval(3600))
        #expect(try await squatted.fixture.hasher.verify("owner-pass", against: claim.passwordHash))
        let names = (await squatted.fixture.notifier.events).map(\.name)
        #expect(names.filter { $0 == "registration_attempt_existing_account" }.count == 1)
        #expect(!names.contains("email_verification_requested"))
        // The claim is not a password of the account.
        #expect(await squatted.logsIn("owner-pass") == false)
        #expect(await squatted.logsIn("squatter-pass"))
        // A newer registration replaces it.
        _ = try await squatted.auth.registerUser(email: "ada@example.com", password: "third-pass")
        let newer = try #require(try await squatted.fixture.store.pendingClaim(userID: squatted.account.id))
        #expect(try await squatted.fixture.hasher.verify("third-pass", against: newer.passwordHash))
    }

    @Test("the owner proves the mailbox with the claim's password: only that password logs in; the squatter is out")
    func proofWithTheClaimsPassword() async throws {
        let squatted = try await Squatted()
        let link = try await squatted.link()
        // Without a password while the claim is live: refused, and the link still works.
        await #expect(throws: AuthError.invalidInput(Auth.passwordRequiredForClaimedAddress)) {
            _ = try await squatted.auth.verifyEmail(token: link, email: "ada@example.com")
        }
        let verified = try await squatted.auth.verifyEmail(
            token: link, email: "ada@example.com", password: "owner-pass")
        #expect(verified.email == "ada@example.com")
        #expect(await squatted.logsIn("owner-pass"))
        #expect(await squatted.logsIn("squatter-pass") == false)
        await #expect(throws: AuthError.invalidSession) {
            _ = try await squatted.auth.user(forSessionToken: squatted.squatterSession)
        }
        #expect(try await squatted.fixture.store.pendingClaim(userID: squatted.account.id) == nil)
        #expect(try await squatted.fixture.store.findUser(by: .id(squatted.account.id))?.emailVerified == true)
    }

    @Test("a new password at the proof must pass the policy (the link stays usable), then is the only one")
    func proofWithANewPassword() async throws {
        var policy = Self.policy()
        policy.passwordMinLength = 10
        let squatted = try await Squatted(policy: policy)
        let link = try await squatted.link()
        await #expect(throws: AuthError.invalidPassword("password must be at least 10 characters")) {
            _ = try await squatted.auth.verifyEmail(token: link, email: "ada@example.com", password: "short")
        }
        _ = try await squatted.auth.verifyEmail(
            token: link, email: "ada@example.com", password: "correct horse battery staple")
        #expect(await squatted.logsIn("correct horse battery staple"))
        for other in ["squatter-pass", "owner-pass"] { #expect(await squatted.logsIn(other) == false) }
    }

    @Test("the proof with the account's own password keeps it, and drops the claim")
    func proofWithTheAccountsPassword() async throws {
        let squatted = try await Squatted()
        let before = try await squatted.fixture.store.findUser(by: .id(squatted.account.id))?.passwordHash
        _ = try await squatted.auth.verifyEmail(
            token: try await squatted.link(), email: "ada@example.com", password: "squatter-pass")
        #expect(try await squatted.fixture.store.findUser(by: .id(squatted.account.id))?.passwordHash == before)
        #expect(await squatted.logsIn("owner-pass") == false)
        #expect(try await squatted.fixture.store.pendingClaim(userID: squatted.account.id) == nil)
    }

    @Test("with RESET_ENDS_SESSIONS=false the squatter's sessions survive the proof; their password does not")
    func sessionsFollowTheResetSetting() async throws {
        let squatted = try await Squatted(policy: Self.policy(endingSessions: false))
        _ = try await squatted.auth.verifyEmail(
            token: try await squatted.link(), email: "ada@example.com", password: "owner-pass")
        #expect(try await squatted.auth.user(forSessionToken: squatted.squatterSession).email == "ada@example.com")
        #expect(await squatted.logsIn("squatter-pass") == false)
    }

    @Test("an expired claim no longer blocks a verification without a password, and is purged")
    func expiredClaim() async throws {
        let squatted = try await Squatted()
        squatted.fixture.clock.advance(by: 3600)
        let link = try await squatted.link()
        _ = try await squatted.auth.verifyEmail(token: link, email: "ada@example.com")
        // Nothing else changed: the squatter's password stays, since nobody chose another.
        #expect(await squatted.logsIn("squatter-pass"))
        let purged = try await squatted.auth.purgeExpired()
        #expect(purged.pendingClaims == 1)
    }

    @Test("a reset by token is a proof of the mailbox too: it drops the claim and the login challenges")
    func resetDropsTheClaim() async throws {
        let squatted = try await Squatted()
        guard case .issued(let reset) = try await squatted.auth.requestPasswordReset(for: "ada@example.com") else {
            Issue.record("expected the reset token in the answer")
            return
        }
        _ = try await squatted.auth.updatePassword(
            resetToken: reset.token, email: "ada@example.com", newPassword: "owner-chosen")
        #expect(try await squatted.fixture.store.pendingClaim(userID: squatted.account.id) == nil)
        #expect(await squatted.logsIn("owner-chosen"))
        #expect(await squatted.logsIn("owner-pass") == false)
    }

    @Test("no claim for a verified address, nor in the development profile, nor with verification off")
    func noClaim() async throws {
        let verified = try await Fixture(policy: Self.policy())
        let account = try await verified.auth.registerUser(email: "ada@example.com", password: "pw-1")
        #expect(try await verified.store.setEmailVerified(userID: account.id, true))
        _ = try await verified.auth.registerUser(email: "ada@example.com", password: "pw-2")
        #expect(try await verified.store.pendingClaim(userID: account.id) == nil)

        var development = Self.policy()
        development.concealExistingAccounts = false
        let dev = try await Fixture(policy: development)
        let first = try await dev.auth.registerUser(email: "ada@example.com", password: "pw-1")
        await #expect(throws: AuthError.emailAlreadyRegistered) {
            _ = try await dev.auth.registerUser(email: "ada@example.com", password: "pw-2")
        }
        #expect(try await dev.store.pendingClaim(userID: first.id) == nil)

        var off = Self.policy()
        off.emailVerification = .off
        let unverifiable = try await Fixture(policy: off)
        let only = try await unverifiable.auth.registerUser(email: "ada@example.com", password: "pw-1")
        _ = try await unverifiable.auth.registerUser(email: "ada@example.com", password: "pw-2")
        #expect(try await unverifiable.store.pendingClaim(userID: only.id) == nil)
    }

    @Test("an email change's verification ignores a password")
    func changeIgnoresThePassword() async throws {
        let fixture = try await Fixture(policy: Self.policy())
        let account = try await fixture.auth.registerUser(email: "ada@example.com", password: "b4l0u")
        let session = try await fixture.auth.createSession(
            for: fixture.auth.validLogin(email: "ada@example.com", password: "b4l0u"))
        guard
            case .issued(let issued) = try await fixture.auth.changeEmail(
                sessionToken: session, password: "b4l0u", newEmail: "ada.new@example.com")
        else {
            Issue.record("expected the token in the answer")
            return
        }
        _ = try await fixture.auth.verifyEmail(
            token: issued.token, email: "ada.new@example.com", password: "something else entirely")
        #expect(await attempt(fixture.auth, "ada.new@example.com", "b4l0u") == nil)
        #expect(try await fixture.auth.user(forSessionToken: session).id == account.id)
    }
}
