import Foundation
import LatchkeyCore
import Testing

extension StoreContract {
    /// The checks of the operator interface: listing, deleting, bulk inserts.
    func runAdmin(on store: any AdminStore) async throws {
        switch self {
        case .listUsersPagesByEmailAndCountsLiveSessions:
            let carol = try await store.addUser(email: "carol@example.com", passwordHash: "h", createdAt: Self.t0)
            let ada = try await store.addUser(email: "ada@example.com", passwordHash: "h", createdAt: Self.t0 + 1)
            _ = try await store.addUser(email: "bob@example.com", passwordHash: "h", createdAt: Self.t0 + 2)
            try await Self.addSession(store, Self.session("live", userID: ada.id, lastSeenAt: Self.t0 + 100))
            try await Self.addSession(store, Self.session("idle", userID: ada.id, lastSeenAt: Self.t0))
            try await Self.addSession(store, Self.session("over", userID: ada.id, expiresAt: Self.t0 + 50))
            try await Self.addSession(store, Self.session("c", userID: carol.id, lastSeenAt: Self.t0 + 100))
            let now = Self.t0 + 60
            let idleCutoff = Self.t0 + 10
            let all = try await store.listUsers(after: nil, limit: 10, now: now, idleCutoff: idleCutoff)
            #expect(all.map(\.email) == ["ada@example.com", "bob@example.com", "carol@example.com"])
            #expect(all.map(\.liveSessions) == [1, 0, 1])
            #expect(
                all[0] == UserSummary(id: ada.id, email: "ada@example.com", createdAt: Self.t0 + 1, liveSessions: 1))
            let page = try await store.listUsers(after: "ada@example.com", limit: 1, now: now, idleCutoff: idleCutoff)
            #expect(page.map(\.email) == ["bob@example.com"])
            #expect(
                try await store.listUsers(after: "carol@example.com", limit: 5, now: now, idleCutoff: idleCutoff)
                    .isEmpty)

        case .deleteUserTakesSessionsAndResetToken:
            let ada = try await store.addUser(email: "ada@example.com", passwordHash: "h", createdAt: Self.t0)
            let bob = try await store.addUser(email: "bob@example.com", passwordHash: "h", createdAt: Self.t0)
            try await Self.addSession(store, Self.session("a", userID: ada.id))
            try await Self.addSession(store, Self.session("b", userID: bob.id))
            try await store.setResetToken(Self.resetToken("r", userID: ada.id))
            #expect(try await store.deleteUser(id: ada.id))
            #expect(try await store.findUser(by: .email("ada@example.com")) == nil)
            #expect(try await store.findSession(digest: Self.digest("a")) == nil)
            #expect(try await store.findResetToken(userID: ada.id) == nil)
            #expect(try await store.findSession(digest: Self.digest("b")) != nil)
            #expect(try await store.deleteUser(id: ada.id) == false)
            // The address can be registered again.
            _ = try await store.addUser(email: "ada@example.com", passwordHash: "h2", createdAt: Self.t0)

        case .addUsersSkipsTakenEmails:
            _ = try await store.addUser(email: "taken@example.com", passwordHash: "old", createdAt: Self.t0)
            let added = try await store.addUsers([
                NewUser(email: "ada@example.com", passwordHash: "h1", createdAt: Self.t0),
                NewUser(email: "taken@example.com", passwordHash: "h2", createdAt: Self.t0),
                NewUser(email: "bob@example.com", passwordHash: "h3", createdAt: Self.t0 + 5),
            ])
            #expect(added == [true, false, true])
            #expect(try await store.findUser(by: .email("taken@example.com"))?.passwordHash == "old")
            #expect(try await store.findUser(by: .email("bob@example.com"))?.createdAt == Self.t0 + 5)
            await #expect(throws: StoreError.self) {
                _ = try await store.addUsers([
                    NewUser(email: "nul\u{0}@example.com", passwordHash: "h", createdAt: Self.t0)
                ])
            }

        case .addSessionsInBulk:
            let ada = try await store.addUser(email: "ada@example.com", passwordHash: "h", createdAt: Self.t0)
            let two = Self.session("two", userID: ada.id)
            try await store.addSessions([Self.session("one", userID: ada.id), two])
            #expect(try await store.findSession(digest: Self.digest("one"))?.user == SessionUser(ada))
            #expect(try await store.findSession(digest: Self.digest("two"))?.session == two)
            // One missing user refuses the whole batch.
            await #expect(throws: StoreError.notFound) {
                try await store.addSessions([
                    Self.session("three", userID: ada.id), Self.session("orphan", userID: ada.id + 99),
                ])
            }
            #expect(try await store.findSession(digest: Self.digest("three")) == nil)
            #expect(try await store.findSession(digest: Self.digest("orphan")) == nil)

        case .renameUserMovesTheAddress:
            let ada = try await store.addUser(email: "ada@example.com", passwordHash: "h", createdAt: Self.t0)
            _ = try await store.addUser(email: "bob@example.com", passwordHash: "h", createdAt: Self.t0)
            try await Self.addSession(store, Self.session("s", userID: ada.id))
            #expect(try await store.renameUser(id: ada.id, email: "ada.l@example.com"))
            #expect(try await store.findUser(by: .email("ada@example.com")) == nil)
            #expect(try await store.findUser(by: .email("ada.l@example.com"))?.id == ada.id)
            // The session carries the new address.
            #expect(try await store.findSession(digest: Self.digest("s"))?.user.email == "ada.l@example.com")
            await #expect(throws: StoreError.duplicateEmail) {
                _ = try await store.renameUser(id: ada.id, email: "bob@example.com")
            }
            #expect(try await store.renameUser(id: 9999, email: "nobody@example.com") == false)

        default:
            Issue.record("\(self) is not one of these checks")
        }
    }
}
