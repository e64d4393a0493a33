import Foundation
import LatchkeyTestSupport
import MetricsTestKit
import Testing

@testable import LatchkeyCore

@Suite("Reset token delivery")
struct DeliveryTests {
    func auth(_ delivery: TokenDelivery, conceal: Bool = false) async throws
        -> (Auth, InMemoryStore, OutboxRecorder, FastHasher)
    {
        var policy = AuthPolicy()
        policy.tokenDelivery = delivery
        policy.concealExistingAccounts = conceal
        policy.secondFactorKeyring = try SecondFactorKeyring(current: Data(repeating: 7, count: 32))
        let store = InMemoryStore()
        let hasher = FastHasher()
        return (
            try await Auth(store: store, hasher: hasher, policy: policy, logger: CapturedLog().logger), store,
            OutboxRecorder(store: store, keyring: policy.secondFactorKeyring), hasher
        )
    }

    @Test("response delivery: the token in the answer, 403 for unknown emails, nothing sent")
    func response() async throws {
        let (auth, _, notifier, _) = try await auth(.response)
        _ = try await auth.registerUser(email: "ada@example.com", password: "b4l0u")
        guard case .issued(let issued) = try await auth.requestPasswordReset(for: "Ada@example.com") else {
            Issue.record("expected the token in the answer")
            return
        }
        #expect(issued.email == "ada@example.com")
        await #expect(throws: AuthError.emailNotRegistered) {
            _ = try await auth.requestPasswordReset(for: "ghost@example.com")
        }
        #expect(await notifier.events.isEmpty)
    }

    @Test(
        "out-of-band delivery: the same answer for every email; only an account's owner gets a token",
        arguments: [
            TokenDelivery.log, .webhook,
        ])
    func outOfBand(delivery: TokenDelivery) async throws {
        let (auth, store, notifier, _) = try await auth(delivery)
        _ = try await auth.registerUser(email: "ada@example.com", password: "b4l0u")
        #expect(try await auth.requestPasswordReset(for: "ghost@example.com") == .accepted(email: "ghost@example.com"))
        #expect(try await auth.requestPasswordReset(for: "Ada@example.com") == .accepted(email: "ada@example.com"))
        // The token is issued after the answer: wait for it. (Registration sent a verification
        // token out of band too.)
        await auth.backgroundWorkSettled()
        let resets = await notifier.events.filter {
            if case .passwordResetRequested = $0 { true } else { false }
        }
        guard case .passwordResetRequested(let email, let token, _) = try #require(resets.first) else {
            Issue.record("expected a reset event")
            return
        }
        #expect(resets.count == 1)
        #expect(email == "ada@example.com")
        // The token sent out of band works, and its owner hears of the reset in the same step; a
        // wrong token writes no notice.
        await #expect(throws: AuthError.invalidResetToken) {
            _ = try await auth.updatePassword(resetToken: "wrong", email: email, newPassword: "t4rt1fl3tt3")
        }
        #expect(await !notifier.events.contains { $0.name == "password_reset" })
        _ = try await auth.updatePassword(
            resetToken: token, email: email, newPassword: "t4rt1fl3tt3",
            origin: SessionOrigin(ip: "203.0.113.7", userAgent: "Phone/1.0", languages: "fr"))
        let notice = try #require(await notifier.events.last)
        guard case .passwordReset(email, _, "203.0.113.7", "Phone/1.0") = notice else {
            Issue.record("expected a password_reset notice, got \(notice)")
            return
        }
        #expect(await store.outboxRows.last?.message.language == "fr")
    }

    @Test("concealed accounts: an existing email is answered as a new one, after hashing, and its owner is told")
    func concealedRegistration() async throws {
        let (auth, store, notifier, hasher) = try await auth(.webhook, conceal: true)
        let first = try await auth.registerUser(email: "ada@example.com", password: "b4l0u")
        let firstHash = try #require(try await store.findUser(by: .id(first.id))?.passwordHash)
        let hashes = await hasher.counter.hashes
        let second = try await auth.registerUser(email: " ADA@example.com", password: "another-one")
        #expect(second.email == first.email)
        #expect(await hasher.counter.hashes == hashes + 1)
        #expect(await notifier.events == [.registrationAttemptExistingAccount(email: "ada@example.com")])
        // The account is untouched: the old password still works, the new one does not.
        #expect(try await store.findUser(by: .email("ada@example.com"))?.passwordHash == firstHash)
        _ = try await auth.validLogin(email: "ada@example.com", password: "b4l0u")
    }
}
