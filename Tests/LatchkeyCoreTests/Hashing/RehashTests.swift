import Foundation
import LatchkeyTestSupport
import MetricsTestKit
import Testing

@testable import LatchkeyCore

@Suite("Rehash on login")
struct RehashTests {
    @Test("a hash made with other parameters is replaced after a successful login, and only then")
    func rehash() async throws {
        let store = InMemoryStore()
        let old = try await Auth(store: store, hasher: FastHasher(version: 1), logger: CapturedLog().logger)
        _ = try await old.registerUser(email: "ada@example.com", password: "b4l0u")
        let oldHash = try #require(try await store.findUser(by: .email("ada@example.com"))?.passwordHash)

        let current = try await Auth(store: store, hasher: FastHasher(version: 2), logger: CapturedLog().logger)
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
        #expect(BcryptPasswordHasher.cost(of: String(hash.dropFirst("$lkb2$".count + 23))) == 5)
        #expect(!hasher.needsRehash(hash))
        // Another cost, or plain bcrypt of any cost (its passwords count only to 72 bytes).
        let cheapHasher = BcryptPasswordHasher(cost: 4, threads: 1)
        let cheaper = try await cheapHasher.hash("b4l0u")
        try await cheapHasher.shutdown()
        #expect(hasher.needsRehash(cheaper))
        #expect(hasher.needsRehash("$2b$04$" + String(repeating: "a", count: 53)))
        #expect(hasher.needsRehash("$2b$05$" + String(repeating: "a", count: 53)))
        #expect(!hasher.needsRehash("not a bcrypt hash"))
        try await hasher.shutdown()
    }

    @Test("two logins that both verified the old hash both succeed, and both get sessions, after one replaced it")
    func concurrentRehash() async throws {
        let store = InMemoryStore()
        let old = try await Auth(store: store, hasher: FastHasher(version: 1), logger: CapturedLog().logger)
        _ = try await old.registerUser(email: "ada@example.com", password: "b4l0u")
        // Both logins pass their verification before either replaces the hash.
        let current = try await Auth(
            store: store, hasher: GatedHasher(inner: FastHasher(version: 2), gate: 2), logger: CapturedLog().logger)
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<2 {
                group.addTask {
                    let login = try await current.validLogin(email: "ada@example.com", password: "b4l0u")
                    _ = try await current.createSession(for: login)
                }
            }
            try await group.waitForAll()
        }
        #expect(try await store.findUser(by: .email("ada@example.com"))?.passwordHash.hasPrefix("fast$2$") == true)
    }
}
