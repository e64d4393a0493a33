import Foundation
import HummingbirdBcrypt
import LatchkeyTestSupport
import NIOCore
import Synchronization
import Testing

@testable import LatchkeyCore

@Suite("Login")
struct LoginTests {
    @Test("the right password logs in, with the email in any case")
    func rightPassword() async throws {
        let fixture = try await Fixture()
        let user = try await fixture.auth.registerUser(email: "ada@example.com", password: "b4l0u")
        #expect(try await fixture.auth.validLogin(email: "ADA@example.com ", password: "b4l0u").id == user.id)
    }

    @Test("a wrong password and an unknown email fail alike, after the same bcrypt work")
    func wrongOrUnknown() async throws {
        let fixture = try await Fixture()
        _ = try await fixture.auth.registerUser(email: "ada@example.com", password: "b4l0u")
        let before = await fixture.hasher.counter.verifications
        await #expect(throws: AuthError.invalidCredentials) {
            _ = try await fixture.auth.validLogin(email: "ada@example.com", password: "wrong")
        }
        #expect(await fixture.hasher.counter.verifications == before + 1)
        await #expect(throws: AuthError.invalidCredentials) {
            _ = try await fixture.auth.validLogin(email: "nobody@example.com", password: "b4l0u")
        }
        #expect(await fixture.hasher.counter.verifications == before + 2)
    }

    @Test("every character counts: passwords that differ only after their 72nd byte are different passwords")
    func noTruncation() async throws {
        let hasher = BcryptPasswordHasher(cost: 4, threads: 2)
        let auth = try await Auth(store: InMemoryStore(), hasher: hasher, logger: CapturedLog().logger)
        for (email, password) in [
            ("ada@example.com", String(repeating: "p", count: 72)),
            ("bob@example.com", String(repeating: "ж", count: 64)),
        ] {
            _ = try await auth.registerUser(email: email, password: password)
            let stored = try await auth.validLogin(email: email, password: password)
            #expect(stored.passwordHash.hasPrefix("$lkb2$"))
            #expect(try await hasher.verify(password + "x", against: stored.passwordHash) == false)
            await #expect(throws: AuthError.invalidCredentials) {
                _ = try await auth.validLogin(email: email, password: password + "x")
            }
        }
        try await hasher.shutdown()
    }

    @Test("a plain bcrypt hash is checked against the password as sent, never past 72 bytes, then replaced")
    func plainBcrypt() async throws {
        let hasher = BcryptPasswordHasher(cost: 4, threads: 2)
        let store = InMemoryStore()
        let auth = try await Auth(store: store, hasher: hasher, logger: CapturedLog().logger)
        let password = String(repeating: "p", count: 72)
        let old = Bcrypt.hash(password, cost: 4)
        let user = try await store.addUser(email: "ada@example.com", passwordHash: old, createdAt: Date())
        // Plain bcrypt would accept the longer password: that is the truncation refused here.
        #expect(Bcrypt.verify(password + "extra", hash: old))
        await #expect(throws: AuthError.invalidCredentials) {
            _ = try await auth.validLogin(email: "ada@example.com", password: password + "extra")
        }
        // bcrypt stops at a NUL byte: "qzx\0zzz" would pass for "qzx".
        let short = try await store.addUser(
            email: "bob@example.com", passwordHash: Bcrypt.hash("qzx", cost: 4), createdAt: Date())
        await #expect(throws: AuthError.invalidCredentials) {
            _ = try await auth.validLogin(email: "bob@example.com", password: "qzx\u{0}zzz")
        }
        // PHP's `$2y$` and the older `$2a$` are plain bcrypt too.
        for prefix in ["$2y$", "$2a$"] {
            let variant = prefix + Bcrypt.hash("old-pw", cost: 4).dropFirst(4)
            _ = try await store.addUser(
                email: "\(prefix.dropFirst().dropLast())@example.com", passwordHash: variant, createdAt: Date())
            _ = try await auth.validLogin(email: "\(prefix.dropFirst().dropLast())@example.com", password: "old-pw")
        }
        _ = try await auth.validLogin(email: "ada@example.com", password: password)
        let rehashed = try #require(try await store.findUser(by: .id(user.id))?.passwordHash)
        #expect(rehashed.hasPrefix("$lkb2$"))
        _ = try await auth.validLogin(email: "ada@example.com", password: password)
        _ = try await auth.validLogin(email: "bob@example.com", password: "qzx")
        #expect(try await store.findUser(by: .id(short.id))?.passwordHash.hasPrefix("$lkb2$") == true)
        try await hasher.shutdown()
    }

    @Test("an unknown email is verified against a dummy hash of the same bcrypt cost")
    func dummyCost() async throws {
        let recorder = RecordingHasher(inner: BcryptPasswordHasher(cost: 5, threads: 1))
        let store = InMemoryStore()
        let auth = try await Auth(store: store, hasher: recorder, logger: CapturedLog().logger)
        _ = try await auth.registerUser(email: "ada@example.com", password: "pw")
        let user = try #require(try await store.findUser(by: .email("ada@example.com")))
        await #expect(throws: AuthError.invalidCredentials) {
            _ = try await auth.validLogin(email: "nobody@example.com", password: "pw")
        }
        let verified = try #require(await recorder.verifiedHashes.last)
        #expect(verified != user.passwordHash)
        #expect(verified.hasPrefix("$lkb2$") && user.passwordHash.hasPrefix("$lkb2$"))
        #expect(verified.contains("$$2b$05$") && user.passwordHash.contains("$$2b$05$"))
    }

    @Test("a password reset between the password check and the session insert wins")
    func resetDuringLogin() async throws {
        let fixture = try await Fixture()
        _ = try await fixture.auth.registerUser(email: "ada@example.com", password: "old")
        let checked = try await fixture.auth.validLogin(email: "ada@example.com", password: "old")
        let issued = try await fixture.auth.resetPasswordToken(for: "ada@example.com")
        _ = try await fixture.auth.updatePassword(
            resetToken: issued.token, email: "ada@example.com", newPassword: "n3w-secret")
        await #expect(throws: AuthError.invalidCredentials) {
            _ = try await fixture.auth.createSession(for: checked)
        }
        #expect(await fixture.store.sessionCount == 0)
    }

    @Test("the bcrypt hasher runs one hash per core by default")
    func defaultThreads() async throws {
        let hasher = BcryptPasswordHasher(cost: 4)
        #expect(hasher.threads == System.coreCount)
        try await hasher.shutdown()
    }

    /// Addresses the rules refuse, one of each kind: no @, two, blank, blank after trimming, an
    /// invisible character, white space inside, an address literal, a label too long, a
    /// trailing dot, a local part over 64 bytes, a fullwidth @ making two.
    static let refusedAddresses = [
        "not-an-email", "a@@example.com", "", "   ", "a\u{200B}@example.com", "a b@example.com", "a@[127.0.0.1]",
        "a@" + String(repeating: "x", count: 64) + ".com", "a@example.com.",
        String(repeating: "l", count: 65) + "@example.com",
        "x\u{FF20}evil@example.com",
    ]

    @Test(
        "an address the rules refuse is a failed login, as an unregistered one, with no hashing, throttle record or activity",
        arguments: refusedAddresses)
    func refusedAddress(email: String) async throws {
        let fixture = try await Fixture()
        _ = try await fixture.auth.registerUser(email: "ada@example.com", password: "b4l0u")
        let before = await RefusedAddressWork(fixture)
        await #expect(throws: AuthError.invalidCredentials) {
            _ = try await fixture.auth.validLogin(email: email, password: "b4l0u")
        }
        #expect(await RefusedAddressWork(fixture) == before)
    }
}

/// What a request costs and leaves behind: hashes, verifications, throttle records, activity
/// entries. An address the rules refuse must change none of them.
struct RefusedAddressWork: Equatable {
    let hashes: Int
    let verifications: Int
    let throttleRecords: Int
    let activityEntries: Int

    init(_ fixture: Fixture) async {
        hashes = await fixture.hasher.counter.hashes
        verifications = await fixture.hasher.counter.verifications
        throttleRecords = await fixture.store.throttleRecordCount
        activityEntries = await fixture.store.activityCount
    }
}
