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
