import Foundation
import LatchkeyTestSupport
import NIOCore
import Synchronization
import Testing

@testable import LatchkeyCore

@Suite("Password reset")
struct ResetTests {
    @Test("a reset token is for registered emails only")
    func unknownEmail() async throws {
        let fixture = try await Fixture()
        await #expect(throws: AuthError.emailNotRegistered) {
            _ = try await fixture.auth.resetPasswordToken(for: "nobody@example.com")
        }
    }

    @Test(
        "a token changes the password once and ends the old password; the sessions end with RESET_ENDS_SESSIONS",
        arguments: [true, false])
    func fullReset(endsSessions: Bool) async throws {
        var policy = AuthPolicy()
        policy.resetEndsSessions = endsSessions
        let fixture = try await Fixture(policy: policy)
        let user = try await fixture.auth.registerUser(email: "ada@example.com", password: "b4l0u")
        let session = try await fixture.auth.createSession(for: fixture.auth.verifiedLogin(for: user))
        let issued = try await fixture.auth.resetPasswordToken(for: " ADA@example.com")
        #expect(issued.email == "ada@example.com")
        #expect(issued.token.count == 43)
        #expect(issued.expiresAt == fixture.clock.now.addingTimeInterval(3600))
        let stored = try #require(try await fixture.store.findResetToken(userID: user.id))
        #expect(stored.tokenDigest == TokenDigest(of: issued.token))
        #expect(stored.tokenDigest.bytes != Data(issued.token.utf8))
        #expect(stored.tokenDigest.bytes.count == 32)
        let updated = try await fixture.auth.updatePassword(
            resetToken: issued.token, email: "ada@example.com", newPassword: "t4rt1fl3tt3")
        #expect(updated.email == "ada@example.com")
        #expect(try await fixture.auth.validLogin(email: "ada@example.com", password: "t4rt1fl3tt3").id == user.id)
        await #expect(throws: AuthError.invalidCredentials) {
            _ = try await fixture.auth.validLogin(email: "ada@example.com", password: "b4l0u")
        }
        if endsSessions {
            await #expect(throws: AuthError.invalidSession) {
                _ = try await fixture.auth.user(forSessionToken: session)
            }
        } else {
            // The original's behaviour: a session made before the reset still works after it.
            #expect(try await fixture.auth.user(forSessionToken: session).id == user.id)
        }
        await #expect(throws: AuthError.invalidResetToken) {
            _ = try await fixture.auth.updatePassword(
                resetToken: issued.token, email: "ada@example.com", newPassword: "again")
        }
    }

    @Test("a newer token replaces the older one")
    func newerReplaces() async throws {
        let fixture = try await Fixture()
        _ = try await fixture.auth.registerUser(email: "ada@example.com", password: "b4l0u")
        let first = try await fixture.auth.resetPasswordToken(for: "ada@example.com")
        let second = try await fixture.auth.resetPasswordToken(for: "ada@example.com")
        await #expect(throws: AuthError.invalidResetToken) {
            _ = try await fixture.auth.updatePassword(
                resetToken: first.token, email: "ada@example.com", newPassword: "n3w-secret")
        }
        _ = try await fixture.auth.updatePassword(
            resetToken: second.token, email: "ada@example.com", newPassword: "n3w-secret")
    }

    @Test("a token is bound to the email it was issued for")
    func boundToEmail() async throws {
        let fixture = try await Fixture()
        _ = try await fixture.auth.registerUser(email: "ada@example.com", password: "b4l0u")
        _ = try await fixture.auth.registerUser(email: "bob@example.com", password: "b4l0u")
        let issued = try await fixture.auth.resetPasswordToken(for: "ada@example.com")
        _ = try await fixture.auth.resetPasswordToken(for: "bob@example.com")
        await #expect(throws: AuthError.invalidResetToken) {
            _ = try await fixture.auth.updatePassword(
                resetToken: issued.token, email: "bob@example.com", newPassword: "n3w-secret")
        }
        await #expect(throws: AuthError.invalidResetToken) {
            _ = try await fixture.auth.updatePassword(
                resetToken: issued.token, email: "nobody@example.com", newPassword: "n3w-secret")
        }
        _ = try await fixture.auth.validLogin(email: "bob@example.com", password: "b4l0u")
    }

    @Test("a token expires after its time to live")
    func expiry() async throws {
        let fixture = try await Fixture(policy: AuthPolicy(resetTokenTTL: 600))
        _ = try await fixture.auth.registerUser(email: "ada@example.com", password: "b4l0u")
        let issued = try await fixture.auth.resetPasswordToken(for: "ada@example.com")
        fixture.clock.advance(by: 600)
        await #expect(throws: AuthError.invalidResetToken) {
            _ = try await fixture.auth.updatePassword(
                resetToken: issued.token, email: "ada@example.com", newPassword: "n3w-secret")
        }
    }

    @Test("a new password that breaks the policy is refused and leaves the token usable")
    func badNewPassword() async throws {
        let fixture = try await Fixture()
        _ = try await fixture.auth.registerUser(email: "ada@example.com", password: "b4l0u")
        let issued = try await fixture.auth.resetPasswordToken(for: "ada@example.com")
        for refused in ["", "tab\there", String(repeating: "x", count: 257), "password"] {
            await #expect(throws: AuthError.self) {
                _ = try await fixture.auth.updatePassword(
                    resetToken: issued.token, email: "ada@example.com", newPassword: refused)
            }
        }
        _ = try await fixture.auth.updatePassword(resetToken: issued.token, email: "ada@example.com", newPassword: "ok")
    }

    @Test("a wrong token is refused as such whatever the new password, and counts toward the wait")
    func wrongTokenBeforePassword() async throws {
        let fixture = try await Fixture()
        _ = try await fixture.auth.registerUser(email: "ada@example.com", password: "b4l0u")
        let issued = try await fixture.auth.resetPasswordToken(for: "ada@example.com")
        for refused in ["", String(repeating: "x", count: 257)] {
            await #expect(throws: AuthError.invalidResetToken) {
                _ = try await fixture.auth.updatePassword(
                    resetToken: SecretToken.generate(), email: "ada@example.com", newPassword: refused)
            }
        }
        _ = try await fixture.auth.updatePassword(
            resetToken: issued.token, email: "ada@example.com", newPassword: "n3w-secret")
        _ = try await fixture.auth.validLogin(email: "ada@example.com", password: "n3w-secret")
    }

    @Test("a wrong token costs no hashing")
    func wrongTokenNoHash() async throws {
        let fixture = try await Fixture()
        _ = try await fixture.auth.registerUser(email: "ada@example.com", password: "b4l0u")
        _ = try await fixture.auth.resetPasswordToken(for: "ada@example.com")
        let before = await fixture.hasher.counter.hashes
        await #expect(throws: AuthError.invalidResetToken) {
            _ = try await fixture.auth.updatePassword(
                resetToken: SecretToken.generate(), email: "ada@example.com", newPassword: "n3w-secret")
        }
        #expect(await fixture.hasher.counter.hashes == before)
    }

    @Test(
        "an address the rules refuse is answered as an unregistered one by both reset steps, counted nowhere",
        arguments: LoginTests.refusedAddresses)
    func refusedAddress(email: String) async throws {
        for delivery in [TokenDelivery.response, .webhook] {
            var policy = AuthPolicy()
            policy.tokenDelivery = delivery
            let fixture = try await Fixture(policy: policy)
            _ = try await fixture.auth.registerUser(email: "ada@example.com", password: "b4l0u")
            let before = await RefusedAddressWork(fixture)
            if delivery == .response {
                await #expect(throws: AuthError.emailNotRegistered) {
                    _ = try await fixture.auth.requestPasswordReset(for: email)
                }
            } else {
                // The usual answer of out-of-band delivery, echoing the address as sent.
                #expect(try await fixture.auth.requestPasswordReset(for: email) == .accepted(email: email))
            }
            await #expect(throws: AuthError.invalidResetToken) {
                _ = try await fixture.auth.updatePassword(
                    resetToken: SecretToken.generate(), email: email, newPassword: "t4rt1fl3tt3")
            }
            #expect(await RefusedAddressWork(fixture) == before)
            #expect(await fixture.store.resetTokenCount == 0)
        }
    }
}
