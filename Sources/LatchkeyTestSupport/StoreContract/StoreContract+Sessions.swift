import Foundation
import LatchkeyCore
import Testing

extension StoreContract {
    /// The checks of sessions: storing, finding, ending and purging.
    func runSessions(on store: any AdminStore) async throws {
        switch self {
        case .sessionsRoundTrip:
            let user = try await store.addUser(email: "ada@example.com", passwordHash: "h", createdAt: Self.t0)
            let session = Self.session("s1", userID: user.id)
            try await Self.addSession(store, session)
            let found = try await store.findSession(digest: Self.digest("s1"))
            #expect(found?.session == session)
            #expect(found?.user == SessionUser(user))
            #expect(try await store.findSession(digest: Self.digest("other")) == nil)
            let later = Self.t0.addingTimeInterval(120)
            try await store.touchSession(digest: Self.digest("s1"), lastSeenAt: later)
            #expect(try await store.findSession(digest: Self.digest("s1"))?.session.lastSeenAt == later)

        case .deleteSessionEndsOnlyThatSession:
            let user = try await store.addUser(email: "ada@example.com", passwordHash: "h", createdAt: Self.t0)
            try await Self.addSession(store, Self.session("phone", userID: user.id))
            try await Self.addSession(store, Self.session("laptop", userID: user.id))
            #expect(try await store.deleteSession(digest: Self.digest("phone")))
            #expect(try await store.findSession(digest: Self.digest("phone")) == nil)
            #expect(try await store.findSession(digest: Self.digest("laptop")) != nil)
            #expect(try await store.deleteSession(digest: Self.digest("phone")) == false)

        case .deleteSessionsEndsAllOfOneUser:
            let ada = try await store.addUser(email: "ada@example.com", passwordHash: "h", createdAt: Self.t0)
            let bob = try await store.addUser(email: "bob@example.com", passwordHash: "h", createdAt: Self.t0)
            for (seed, owner) in [("a1", ada), ("a2", ada), ("b1", bob)] {
                try await Self.addSession(store, Self.session(seed, userID: owner.id))
            }
            #expect(try await store.deleteSessions(userID: ada.id) == 2)
            #expect(try await store.findSession(digest: Self.digest("a1")) == nil)
            #expect(try await store.findSession(digest: Self.digest("a2")) == nil)
            #expect(try await store.findSession(digest: Self.digest("b1"))?.user == SessionUser(bob))

        case .sessionNeedsTheCheckedPasswordHash:
            let user = try await store.addUser(email: "ada@example.com", passwordHash: "old", createdAt: Self.t0)
            #expect(try await store.addSession(Self.session("before", userID: user.id), ifPasswordHash: "old"))
            try await store.updateUser(id: user.id, UserUpdate(passwordHash: "new"))
            #expect(try await store.addSession(Self.session("stale", userID: user.id), ifPasswordHash: "old") == false)
            #expect(try await store.findSession(digest: Self.digest("stale")) == nil)
            #expect(try await store.addSession(Self.session("fresh", userID: user.id), ifPasswordHash: "new"))
            let ghost = Self.session("ghost", userID: user.id + 1000)
            #expect(try await store.addSession(ghost, ifPasswordHash: "new") == false)
            #expect(try await store.findSession(digest: Self.digest("ghost")) == nil)

        case .purgeRemovesOnlyExpired:
            let user = try await store.addUser(email: "ada@example.com", passwordHash: "h", createdAt: Self.t0)
            let other = try await store.addUser(email: "bob@example.com", passwordHash: "h", createdAt: Self.t0)
            let now = Self.t0.addingTimeInterval(10_000)
            let idleCutoff = now.addingTimeInterval(-1000)
            let sessions: [(String, Date, Date)] = [
                ("live", now.addingTimeInterval(-10), now.addingTimeInterval(100)),
                ("absolute", now.addingTimeInterval(-10), now.addingTimeInterval(-1)),
                ("idle", now.addingTimeInterval(-2000), now.addingTimeInterval(100)),
            ]
            for (seed, lastSeen, expires) in sessions {
                try await Self.addSession(
                    store, Self.session(seed, userID: user.id, lastSeenAt: lastSeen, expiresAt: expires))
            }
            try await store.setResetToken(
                Self.resetToken("r-old", userID: user.id, expiresAt: now.addingTimeInterval(-1)))
            try await store.setResetToken(
                Self.resetToken("r-new", userID: other.id, expiresAt: now.addingTimeInterval(60)))
            let result = try await store.purgeExpired(now: now, idleCutoff: idleCutoff)
            #expect(result == PurgeResult(sessions: 2, resetTokens: 1))
            #expect(try await store.findSession(digest: Self.digest("live")) != nil)
            #expect(try await store.findSession(digest: Self.digest("absolute")) == nil)
            #expect(try await store.findSession(digest: Self.digest("idle")) == nil)
            #expect(try await store.findResetToken(userID: user.id) == nil)
            #expect(try await store.findResetToken(userID: other.id) != nil)

        default:
            Issue.record("\(self) is not one of these checks")
        }
    }
}
