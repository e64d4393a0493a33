import Foundation
import HummingbirdBcrypt
import LatchkeyTestSupport
import Testing

@testable import LatchkeyCore

@Suite("Operators' work")
struct AdminTests {
    /// A real bcrypt hash at the cheapest cost, as the original service stored them.
    static func bcrypt(_ password: String) -> String {
        Bcrypt.hash(password, cost: 4)
    }

    @Test("an import keeps bcrypt hashes, normalises emails, and reports every row it skips, in row order")
    func importUsersReport() async throws {
        let store = InMemoryStore()
        let hasher = BcryptPasswordHasher(cost: 4, threads: 1)
        let auth = try await Auth(store: store, hasher: hasher, logger: CapturedLog().logger)
        _ = try await auth.registerUser(email: "taken@example.com", password: "already-here")
        let rows = [
            ImportedRow(row: 1, email: "  Ada@Example.COM ", passwordHash: Self.bcrypt("b4l0u")),
            ImportedRow(row: 2, email: "no-at-sign", passwordHash: Self.bcrypt("x")),
            ImportedRow(row: 3, email: "bob@example.com", passwordHash: "plain-text-password"),
            ImportedRow(row: 4, email: "ADA@example.com", passwordHash: Self.bcrypt("other")),
            ImportedRow(row: 5, email: "taken@example.com", passwordHash: Self.bcrypt("new")),
            ImportedRow(row: 6, email: "cy@example.com", passwordHash: Self.bcrypt("t4rt1fl3tt3")),
            ImportedRow(row: 7, email: "dee@example.com", passwordHash: "$2b$03$" + String(repeating: "a", count: 53)),
        ]
        let report = try await auth.importUsers(rows)
        #expect(report.imported == 2)
        #expect(report.skipped.map(\.row) == [2, 3, 4, 5, 7])
        #expect(report.skipped[0].reason.description.hasPrefix("malformed email"))
        #expect(report.skipped[1].reason == .malformedHash)
        #expect(report.skipped[2].reason == .duplicateInFile(firstRow: 1))
        #expect(report.skipped[3].reason == .alreadyRegistered)
        // Cost 3 is below bcrypt's range.
        #expect(report.skipped[4].reason == .malformedHash)
        // Imported people log in with their old passwords, under the normalised email.
        #expect(try await auth.validLogin(email: "ada@example.com", password: "b4l0u").email == "ada@example.com")
        #expect(try await auth.validLogin(email: "cy@example.com", password: "t4rt1fl3tt3").email == "cy@example.com")
        // The account that existed keeps its own password.
        #expect(try await auth.validLogin(email: "taken@example.com", password: "already-here").id > 0)
        #expect(try await store.findUser(by: .email("bob@example.com")) == nil)
        try await hasher.shutdown()
    }

    @Test("rows above the maximum bcrypt cost are skipped with that reason, unless allowed")
    func importMaximumCost() async throws {
        let rows = [15, 14, 31].enumerated().map { index, cost in
            ImportedRow(
                row: index + 1, email: "user\(index)@example.com",
                passwordHash: "$2b$\(cost)$" + String(repeating: "a", count: 53))
        }
        let fixture = try await Fixture()
        let report = try await fixture.auth.importUsers(rows, maximumCost: 14)
        #expect(report.imported == 1)
        #expect(report.skipped.map(\.row) == [1, 3])
        #expect(
            report.skipped.map(\.reason) == [.costTooHigh(cost: 15, maximum: 14), .costTooHigh(cost: 31, maximum: 14)])
        #expect(report.skipped[0].reason.description.contains("--allow-high-cost"))
        let allowed = try await Fixture().auth.importUsers(rows, maximumCost: nil)
        #expect(allowed.imported == 3)
    }

    @Test("an import that the store refuses imports nothing")
    func importUsersAllOrNothing() async throws {
        let fixture = try await Fixture()
        await fixture.store.setFailing(true)
        await #expect(throws: AuthError.storageUnavailable) {
            _ = try await fixture.auth.importUsers([
                ImportedRow(row: 1, email: "ada@example.com", passwordHash: Self.bcrypt("b4l0u"))
            ])
        }
        await fixture.store.setFailing(false)
        #expect(try await fixture.store.findUser(by: .email("ada@example.com")) == nil)
    }

    @Test("listing pages by normalised email and counts live sessions; no secrets")
    func listUsers() async throws {
        let fixture = try await Fixture()
        for email in ["cy@example.com", "ada@example.com", "bob@example.com"] {
            _ = try await fixture.auth.registerUser(email: email, password: "b4l0u")
        }
        let login = try await fixture.auth.validLogin(email: "bob@example.com", password: "b4l0u")
        _ = try await fixture.auth.createSession(for: login)
        _ = try await fixture.auth.createSession(for: login)
        let first = try await fixture.auth.listUsers(after: nil, limit: 2)
        #expect(first.map(\.email) == ["ada@example.com", "bob@example.com"])
        #expect(first.map(\.liveSessions) == [0, 2])
        let next = try await fixture.auth.listUsers(after: " BOB@example.com", limit: 2)
        #expect(next.map(\.email) == ["cy@example.com"])
    }

    @Test("deleting an account and revoking its sessions, by email in any spelling")
    func deleteAndRevoke() async throws {
        let fixture = try await Fixture()
        _ = try await fixture.auth.registerUser(email: "ada@example.com", password: "b4l0u")
        let login = try await fixture.auth.validLogin(email: "ada@example.com", password: "b4l0u")
        let token = try await fixture.auth.createSession(for: login)
        #expect(try await fixture.auth.revokeSessions(email: "ADA@example.com") == 1)
        await #expect(throws: AuthError.invalidSession) {
            _ = try await fixture.auth.user(forSessionToken: token)
        }
        #expect(try await fixture.auth.revokeSessions(email: "nobody@example.com") == nil)
        #expect(try await fixture.auth.deleteUser(email: " Ada@Example.COM") == "ada@example.com")
        #expect(try await fixture.store.findUser(by: .email("ada@example.com")) == nil)
        #expect(try await fixture.auth.deleteUser(email: "ada@example.com") == nil)
    }
}
