import Foundation
import LatchkeyTestSupport
import MetricsTestKit
import Testing

@testable import LatchkeyCore

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

@Suite("Bursts")
struct BurstTests {
    @Test("a burst never gets more checks than the limit; the rest, right password included, waits")
    func burst() async throws {
        try await BurstScenario.run(on: InMemoryStore())
    }

    @Test("a reserved attempt given up before its check is given back")
    func givenUp() async throws {
        let fixture = try await Fixture(policy: AuthPolicy())
        _ = try await fixture.auth.registerUser(email: "ada@example.com", password: "b4l0u")
        await fixture.store.setFailing(false)
        let key = ThrottleKey(.login, "ada@example.com")
        let reservedAt = try await fixture.auth.reserveAttempt(key, fixture.auth.policy.loginThrottle)
        #expect(try await fixture.store.throttleRecord(key)?.pending.count == 1)
        await fixture.auth.releaseAttempt(key, fixture.auth.policy.loginThrottle, reservedAt: reservedAt)
        #expect(try await fixture.store.throttleRecord(key) == nil)
    }

    @Test("an attempt reserved more than 60 seconds ago no longer counts")
    func stalePending() {
        let throttle = FailureThrottle(maxFailures: 2)
        let t0 = Date(timeIntervalSince1970: 1_800_000_000)
        let full = ThrottleRecord(count: 0, firstAt: t0, lastAt: t0, pending: [t0, t0])
        #expect(throttle.reserving(full, now: t0 + 59).1 == .refused(retryAfter: 1))
        #expect(throttle.reserving(full, now: t0 + 60).1 == .reserved(at: t0 + 60))
        #expect(throttle.reserving(full, now: t0 + 60).0?.pending == [t0 + 60])
    }

    @Test("a success forgets the failures but keeps the other attempts under way; after a wait, one at a time")
    func settling() {
        let throttle = FailureThrottle(maxFailures: 3, firstWait: 60)
        let t0 = Date(timeIntervalSince1970: 1_800_000_000)
        var record = ThrottleRecord(count: 2, firstAt: t0, lastAt: t0, pending: [t0, t0 + 1])
        record = throttle.settling(record, reservedAt: t0, succeeded: true, now: t0 + 2)!
        #expect(record.count == 0 && record.pending == [t0 + 1])
        #expect(throttle.settling(record, reservedAt: t0 + 1, succeeded: true, now: t0 + 3) == nil)
        // The failure that reaches the limit starts the wait; after it, one check at a time.
        var failing = ThrottleRecord(count: 2, firstAt: t0, lastAt: t0, pending: [t0])
        failing = throttle.settling(failing, reservedAt: t0, succeeded: false, now: t0)!
        #expect(throttle.reserving(failing, now: t0 + 30).1 == .refused(retryAfter: 30))
        let (afterWait, first) = throttle.reserving(failing, now: t0 + 61)
        #expect(first == .reserved(at: t0 + 61))
        #expect(throttle.reserving(afterWait, now: t0 + 62).1 == .refused(retryAfter: 1))
    }
}
