import Foundation
import LatchkeyCore
import LatchkeyTestSupport
import Testing

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
