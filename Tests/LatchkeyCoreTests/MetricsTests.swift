import ExtrasBase64
import Foundation
import LatchkeyTestSupport
import MetricsTestKit
import Testing

@testable import LatchkeyCore

@Suite("Metrics")
struct MetricsTests {
    @Test("registrations, logins by outcome, reset tokens, sessions and bcrypt durations are counted")
    func counted() async throws {
        let metrics = TestMetrics()
        let store = InMemoryStore()
        let auth = try await Auth(
            store: store, hasher: FastHasher(), metrics: AuthMetrics(factory: metrics), logger: CapturedLog().logger)
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

    @Test("second-factor checks are counted by outcome")
    func secondFactor() async throws {
        let metrics = TestMetrics()
        var policy = AuthPolicy()
        policy.secondFactorKeyring = try SecondFactorKeyring(current: SecondFactorFixture.keyA)
        policy.secondFactorThrottle = FailureThrottle(maxFailures: 2, firstWait: 60, maxWait: 60)
        let auth = try await Auth(
            store: InMemoryStore(), hasher: FastHasher(), policy: policy, metrics: AuthMetrics(factory: metrics))
        let account = try await auth.registerUser(email: "ada@example.com", password: "b4l0u")
        _ = try await auth.markVerified(email: account.email)
        let session = try await auth.createSession(for: auth.validLogin(email: "ada@example.com", password: "b4l0u"))
        let enrolment = try await auth.beginTOTPEnrolment(
            sessionToken: session, password: "b4l0u", origin: SessionOrigin())
        let secret = Data(try enrolment.secret.base32decoded())
        _ = try await auth.confirmTOTPEnrolment(
            sessionToken: session, code: TOTP.code(secret: secret, at: Date()), origin: SessionOrigin())
        let login = try await auth.validLogin(email: "ada@example.com", password: "b4l0u")
        for _ in 0..<3 {
            _ = try? await auth.verifySecondStep(login, code: "000000")
        }
        func count(_ outcome: String) throws -> Int64 {
            try metrics.expectCounter("latchkey_mfa_verifications_total", [("outcome", outcome)]).totalValue
        }
        #expect(try count("succeeded") == 1)
        #expect(try count("failed") == 2)
        #expect(try count("throttled") == 1)
    }
}
