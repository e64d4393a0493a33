import Foundation
import LatchkeyTestSupport
import MetricsTestKit
import Testing

@testable import LatchkeyCore

@Suite("Common passwords")
struct CommonPasswordTests {
    @Test("the shipped list holds at least 10,000 passwords")
    func listSize() {
        #expect(CommonPasswords.count >= 10_000)
        #expect(CommonPasswords.contains("password"))
        #expect(!CommonPasswords.contains("b4l0u"))
    }

    @Test(
        "registration and reset refuse a common password in any case, saying why",
        arguments: ["password", "PassWord", "123456", "qwerty", "Iloveyou"]
    )
    func refused(password: String) async throws {
        let fixture = try await Fixture()
        await #expect(throws: AuthError.invalidPassword("password is one of the most common passwords; choose another"))
        {
            _ = try await fixture.auth.registerUser(email: "ada@example.com", password: password)
        }
        #expect(try await fixture.store.findUser(by: .email("ada@example.com")) == nil)
        _ = try await fixture.auth.registerUser(email: "ada@example.com", password: "b4l0u")
        let issued = try await fixture.auth.resetPasswordToken(for: "ada@example.com")
        await #expect(
            throws: AuthError.invalidPassword("new_password is one of the most common passwords; choose another")
        ) {
            _ = try await fixture.auth.updatePassword(
                resetToken: issued.token, email: "ada@example.com", newPassword: password)
        }
        // The token was not spent on the refused password.
        _ = try await fixture.auth.updatePassword(
            resetToken: issued.token, email: "ada@example.com", newPassword: "t4rt1fl3tt3")
    }
}

@Suite("Rehash on login")
struct RehashTests {
    @Test("a hash made with other parameters is replaced after a successful login, and only then")
    func rehash() async throws {
        let store = InMemoryStore()
        let old = try await Auth(store: store, hasher: FastHasher(version: 1))
        _ = try await old.registerUser(email: "ada@example.com", password: "b4l0u")
        let oldHash = try #require(try await store.findUser(by: .email("ada@example.com"))?.passwordHash)

        let current = try await Auth(store: store, hasher: FastHasher(version: 2))
        await #expect(throws: AuthError.invalidCredentials) {
            _ = try await current.validLogin(email: "ada@example.com", password: "wrong-one")
        }
        #expect(try await store.findUser(by: .email("ada@example.com"))?.passwordHash == oldHash)

        let user = try await current.validLogin(email: "ada@example.com", password: "b4l0u")
        let newHash = try #require(try await store.findUser(by: .email("ada@example.com"))?.passwordHash)
        #expect(newHash != oldHash)
        #expect(newHash.hasPrefix("fast$2$"))
        #expect(user.passwordHash == newHash)
        // The session is bound to the new hash, and the password still works.
        _ = try await current.createSession(for: user)
        _ = try await current.validLogin(email: "ada@example.com", password: "b4l0u")
        #expect(try await store.findUser(by: .email("ada@example.com"))?.passwordHash == newHash)
    }

    @Test("a rehash never overwrites a hash that changed meanwhile")
    func rehashRace() async throws {
        let store = InMemoryStore()
        let user = try await store.addUser(email: "ada@example.com", passwordHash: "old", createdAt: Date())
        #expect(try await store.replacePasswordHash(userID: user.id, from: "other", to: "new") == false)
        #expect(try await store.findUser(by: .id(user.id))?.passwordHash == "old")
        #expect(try await store.replacePasswordHash(userID: user.id, from: "old", to: "new"))
        #expect(try await store.findUser(by: .id(user.id))?.passwordHash == "new")
    }

    @Test("bcrypt hashes are read for their cost")
    func bcryptCost() async throws {
        let hasher = BcryptPasswordHasher(cost: 5, threads: 1)
        let hash = try await hasher.hash("b4l0u")
        #expect(BcryptPasswordHasher.cost(of: hash) == 5)
        #expect(!hasher.needsRehash(hash))
        #expect(hasher.needsRehash("$2b$04$" + String(repeating: "a", count: 53)))
        #expect(!hasher.needsRehash("not a bcrypt hash"))
        try await hasher.shutdown()
    }
}

/// Logs in with `password`, returning the outcome as an `AuthError` (or `nil` on success).
private func attempt(_ auth: Auth, _ email: String, _ password: String) async -> AuthError? {
    do {
        _ = try await auth.validLogin(email: email, password: password)
        return nil
    } catch let error as AuthError {
        return error
    } catch {
        Issue.record("unexpected error \(error)")
        return nil
    }
}

@Suite("Login throttling")
struct LoginThrottleTests {
    @Test("10 failures get 401; the 11th attempt, even with the right password, gets 429 with the wait")
    func tenThenWait() async throws {
        let fixture = try await Fixture()
        _ = try await fixture.auth.registerUser(email: "ada@example.com", password: "b4l0u")
        for _ in 0..<10 {
            #expect(await attempt(fixture.auth, "ada@example.com", "wrong-guess") == .invalidCredentials)
        }
        let verificationsBefore = await fixture.hasher.counter.verifications
        #expect(await attempt(fixture.auth, "ada@example.com", "b4l0u") == .throttled(retryAfter: 60))
        #expect(await attempt(fixture.auth, "ADA@example.com ", "wrong-guess") == .throttled(retryAfter: 60))
        // A refused attempt costs no bcrypt work.
        #expect(await fixture.hasher.counter.verifications == verificationsBefore)
        // Attempts during the wait do not extend it.
        fixture.clock.advance(by: 45)
        #expect(await attempt(fixture.auth, "ada@example.com", "wrong-guess") == .throttled(retryAfter: 15))
        fixture.clock.advance(by: 14.5)
        #expect(await attempt(fixture.auth, "ada@example.com", "wrong-guess") == .throttled(retryAfter: 1))
        fixture.clock.advance(by: 0.5)
        #expect(await attempt(fixture.auth, "ada@example.com", "b4l0u") == nil)
    }

    @Test("each wait that ends and is followed by a failure doubles: 1, 2, 4, 8, then 15 minutes at most")
    func doubling() async throws {
        let fixture = try await Fixture()
        _ = try await fixture.auth.registerUser(email: "ada@example.com", password: "b4l0u")
        for _ in 0..<10 {
            _ = await attempt(fixture.auth, "ada@example.com", "wrong-guess")
        }
        for wait in [60, 120, 240, 480, 900, 900] {
            #expect(await attempt(fixture.auth, "ada@example.com", "b4l0u") == .throttled(retryAfter: wait))
            fixture.clock.advance(by: TimeInterval(wait))
            // The wait is over: this failure is answered, and starts the next, longer wait.
            #expect(await attempt(fixture.auth, "ada@example.com", "wrong-guess") == .invalidCredentials)
        }
    }

    @Test("a successful login forgets every failure")
    func successResets() async throws {
        let fixture = try await Fixture()
        _ = try await fixture.auth.registerUser(email: "ada@example.com", password: "b4l0u")
        for _ in 0..<9 {
            _ = await attempt(fixture.auth, "ada@example.com", "wrong-guess")
        }
        #expect(await attempt(fixture.auth, "ada@example.com", "b4l0u") == nil)
        #expect(try await fixture.store.throttleRecord(ThrottleKey(.login, "ada@example.com")) == nil)
        for _ in 0..<10 {
            #expect(await attempt(fixture.auth, "ada@example.com", "wrong-guess") == .invalidCredentials)
        }
        #expect(await attempt(fixture.auth, "ada@example.com", "b4l0u") == .throttled(retryAfter: 60))
    }

    @Test("unknown emails are throttled exactly like registered ones")
    func unknownEmails() async throws {
        let fixture = try await Fixture()
        for _ in 0..<10 {
            #expect(await attempt(fixture.auth, "ghost@example.com", "wrong-guess") == .invalidCredentials)
        }
        #expect(await attempt(fixture.auth, "ghost@example.com", "wrong-guess") == .throttled(retryAfter: 60))
        // Another address is not affected.
        #expect(await attempt(fixture.auth, "other@example.com", "wrong-guess") == .invalidCredentials)
    }

    @Test("thresholds come from the policy, and quiet records are purged")
    func configurable() async throws {
        var policy = AuthPolicy()
        policy.loginThrottle = FailureThrottle(maxFailures: 3, firstWait: 10, maxWait: 20, memory: 600)
        let fixture = try await Fixture(policy: policy)
        for _ in 0..<3 {
            #expect(await attempt(fixture.auth, "ghost@example.com", "wrong-guess") == .invalidCredentials)
        }
        #expect(await attempt(fixture.auth, "ghost@example.com", "wrong-guess") == .throttled(retryAfter: 10))
        #expect(try await fixture.auth.purgeExpired().throttles == 0)
        // Forgotten after the longest memory of the three throttles (a day by default).
        fixture.clock.advance(by: 86_401)
        #expect(try await fixture.auth.purgeExpired().throttles == 1)
        #expect(try await fixture.store.throttleRecord(ThrottleKey(.login, "ghost@example.com")) == nil)
    }
}

@Suite("Reset throttling")
struct ResetThrottleTests {
    @Test("10 wrong reset tokens get 403; then even the right token gets 429")
    func wrongTokens() async throws {
        let fixture = try await Fixture()
        _ = try await fixture.auth.registerUser(email: "ada@example.com", password: "b4l0u")
        let issued = try await fixture.auth.resetPasswordToken(for: "ada@example.com")
        for _ in 0..<10 {
            await #expect(throws: AuthError.invalidResetToken) {
                _ = try await fixture.auth.updatePassword(
                    resetToken: SecretToken.generate(), email: "ada@example.com", newPassword: "t4rt1fl3tt3")
            }
        }
        await #expect(throws: AuthError.throttled(retryAfter: 60)) {
            _ = try await fixture.auth.updatePassword(
                resetToken: issued.token, email: "ada@example.com", newPassword: "t4rt1fl3tt3")
        }
        fixture.clock.advance(by: 60)
        _ = try await fixture.auth.updatePassword(
            resetToken: issued.token, email: "ada@example.com", newPassword: "t4rt1fl3tt3")
        #expect(try await fixture.store.throttleRecord(ThrottleKey(.resetToken, "ada@example.com")) == nil)
    }

    @Test("at most 5 reset tokens per email per hour, for unknown emails alike, checked first")
    func requestLimit() async throws {
        let fixture = try await Fixture()
        _ = try await fixture.auth.registerUser(email: "ada@example.com", password: "b4l0u")
        for _ in 0..<5 {
            _ = try await fixture.auth.resetPasswordToken(for: "ada@example.com")
            await #expect(throws: AuthError.emailNotRegistered) {
                _ = try await fixture.auth.resetPasswordToken(for: "ghost@example.com")
            }
        }
        fixture.clock.advance(by: 600)
        await #expect(throws: AuthError.throttled(retryAfter: 3000)) {
            _ = try await fixture.auth.resetPasswordToken(for: "ada@example.com")
        }
        await #expect(throws: AuthError.throttled(retryAfter: 3000)) {
            _ = try await fixture.auth.resetPasswordToken(for: "ghost@example.com")
        }
        fixture.clock.advance(by: 3000)
        _ = try await fixture.auth.resetPasswordToken(for: "ada@example.com")
    }
}

@Suite("Reset token delivery")
struct DeliveryTests {
    func auth(_ delivery: ResetTokenDelivery, conceal: Bool = false) async throws
        -> (Auth, InMemoryStore, RecordingNotifier, FastHasher)
    {
        var policy = AuthPolicy()
        policy.resetTokenDelivery = delivery
        policy.concealExistingAccounts = conceal
        let store = InMemoryStore()
        let notifier = RecordingNotifier()
        let hasher = FastHasher()
        return (
            try await Auth(store: store, hasher: hasher, policy: policy, notifier: notifier), store, notifier, hasher
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
        #expect(notifier.events.isEmpty)
    }

    @Test(
        "out-of-band delivery: the same answer for every email; only an account's owner gets a token",
        arguments: [
            ResetTokenDelivery.log, .webhook,
        ])
    func outOfBand(delivery: ResetTokenDelivery) async throws {
        let (auth, _, notifier, _) = try await auth(delivery)
        _ = try await auth.registerUser(email: "ada@example.com", password: "b4l0u")
        #expect(try await auth.requestPasswordReset(for: "ghost@example.com") == .accepted(email: "ghost@example.com"))
        #expect(try await auth.requestPasswordReset(for: "Ada@example.com") == .accepted(email: "ada@example.com"))
        // The token is issued after the answer: wait for it.
        for _ in 0..<200 where notifier.events.isEmpty {
            try await Task.sleep(for: .milliseconds(10))
        }
        guard case .passwordResetRequested(let email, let token, _) = try #require(notifier.events.first) else {
            Issue.record("expected a reset event")
            return
        }
        #expect(notifier.events.count == 1)
        #expect(email == "ada@example.com")
        // The token sent out of band works.
        _ = try await auth.updatePassword(resetToken: token, email: email, newPassword: "t4rt1fl3tt3")
    }

    @Test("concealed accounts: an existing email is answered as a new one, after hashing, and its owner is told")
    func concealedRegistration() async throws {
        let (auth, store, notifier, hasher) = try await auth(.webhook, conceal: true)
        let first = try await auth.registerUser(email: "ada@example.com", password: "b4l0u")
        let hashes = await hasher.counter.hashes
        let second = try await auth.registerUser(email: " ADA@example.com", password: "another-one")
        #expect(second.email == first.email)
        #expect(await hasher.counter.hashes == hashes + 1)
        #expect(notifier.events == [.registrationAttemptExistingAccount(email: "ada@example.com")])
        // The account is untouched: the old password still works, the new one does not.
        #expect(try await store.findUser(by: .email("ada@example.com"))?.passwordHash == first.passwordHash)
        _ = try await auth.validLogin(email: "ada@example.com", password: "b4l0u")
    }
}

@Suite("Metrics")
struct MetricsTests {
    @Test("registrations, logins by outcome, reset tokens, sessions and bcrypt durations are counted")
    func counted() async throws {
        let metrics = TestMetrics()
        let store = InMemoryStore()
        let auth = try await Auth(store: store, hasher: FastHasher(), metrics: AuthMetrics(factory: metrics))
        func count(_ label: String, _ dimensions: [(String, String)] = []) throws -> Int64 {
            try metrics.expectCounter(label, dimensions).totalValue
        }
        _ = try await auth.registerUser(email: "ada@example.com", password: "b4l0u")
        #expect(try count("latchkey_registrations_total") == 1)
        let user = try await auth.validLogin(email: "ada@example.com", password: "b4l0u")
        let token = try await auth.createSession(for: user)
        for _ in 0..<10 {
            _ = try? await auth.validLogin(email: "ada@example.com", password: "wrong-guess")
        }
        _ = try? await auth.validLogin(email: "ada@example.com", password: "b4l0u")
        #expect(try count("latchkey_logins_total", [("outcome", "succeeded")]) == 1)
        #expect(try count("latchkey_logins_total", [("outcome", "failed")]) == 10)
        #expect(try count("latchkey_logins_total", [("outcome", "throttled")]) == 1)
        #expect(try count("latchkey_sessions_created_total") == 1)
        try await auth.destroySession(token: token)
        #expect(try count("latchkey_sessions_ended_total", [("reason", "logout")]) == 1)
        let issued = try await auth.resetPasswordToken(for: "ada@example.com")
        #expect(try count("latchkey_reset_tokens_issued_total") == 1)
        _ = try await auth.updatePassword(
            resetToken: issued.token, email: "ada@example.com", newPassword: "t4rt1fl3tt3")
        #expect(try count("latchkey_reset_tokens_used_total") == 1)
        // The dummy hash at start-up, the registration, 12 verifications and the new password.
        #expect(try metrics.expectTimer("latchkey_bcrypt_duration_seconds").values.count >= 13)
    }
}
