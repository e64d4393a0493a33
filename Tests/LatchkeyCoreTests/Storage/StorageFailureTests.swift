import Foundation
import LatchkeyTestSupport
import NIOCore
import Synchronization
import Testing

@testable import LatchkeyCore

@Suite("Storage failures")
struct StorageFailureTests {
    @Test("a failing store is reported as unavailable, never as another outcome")
    func unavailable() async throws {
        let fixture = try await Fixture()
        let user = try await fixture.auth.registerUser(email: "ada@example.com", password: "b4l0u")
        let token = try await fixture.auth.createSession(for: fixture.auth.verifiedLogin(for: user))
        await fixture.store.setFailing(true)
        await #expect(throws: AuthError.storageUnavailable) {
            _ = try await fixture.auth.registerUser(email: "bob@example.com", password: "xq7")
        }
        await #expect(throws: AuthError.storageUnavailable) {
            _ = try await fixture.auth.validLogin(email: "ada@example.com", password: "b4l0u")
        }
        await #expect(throws: AuthError.storageUnavailable) {
            _ = try await fixture.auth.user(forSessionToken: token)
        }
        await #expect(throws: AuthError.storageUnavailable) {
            _ = try await fixture.auth.resetPasswordToken(for: "ada@example.com")
        }
        // Each failure is logged (into the test's log, not printed), with the store's reason.
        let failures = fixture.log.entries.filter { $0.level == .error && $0.message == "storage failure" }
        #expect(failures.count >= 4)
        #expect(failures.allSatisfy { $0.metadata["error"]?.contains("set to fail") == true })
    }
}
