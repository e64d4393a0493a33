import Foundation
import LatchkeyCore
import Testing

extension StoreContract {
    /// The checks of an account's security activity.
    func runActivity(on store: any AdminStore) async throws {
        switch self {
        case .activityRoundTripsNewestFirst:
            let ada = try await store.addUser(email: "ada@example.com", passwordHash: "h", createdAt: Self.t0)
            let bob = try await store.addUser(email: "bob@example.com", passwordHash: "h", createdAt: Self.t0)
            let phone = SessionOrigin(ip: "2001:db8::7", userAgent: "Phone/2.0 (ünïcode)")
            let events = [
                ActivityEvent(userID: ada.id, kind: .loginFailed, at: Self.t0 + 1, origin: phone),
                ActivityEvent(userID: ada.id, kind: .loginSucceeded, at: Self.t0 + 3),
                ActivityEvent(userID: bob.id, kind: .passwordReset, at: Self.t0 + 4),
                ActivityEvent(userID: ada.id, kind: .passwordChanged, at: Self.t0 + 2),
            ]
            for event in events { try await store.addActivity(event) }
            #expect(try await store.listActivity(userID: ada.id, limit: 10) == [events[1], events[3], events[0]])
            #expect(try await store.listActivity(userID: ada.id, limit: 2) == [events[1], events[3]])
            #expect(try await store.listActivity(userID: bob.id, limit: 10) == [events[2]])
            await #expect(throws: StoreError.notFound) {
                try await store.addActivity(ActivityEvent(userID: bob.id + 99, kind: .loginFailed, at: Self.t0))
            }
            // Erased with the account.
            #expect(try await store.deleteUser(id: ada.id))
            #expect(try await store.listActivity(userID: ada.id, limit: 10).isEmpty)
            #expect(try await store.listActivity(userID: bob.id, limit: 10) == [events[2]])

        case .accountOverviewReadsWhatTheSeparateReadsRead:
            let (now, idleCutoff) = (Self.t0 + 60, Self.t0 - 100)
            let ada = try await store.addUser(email: "ada@example.com", passwordHash: "h", createdAt: Self.t0)
            let bob = try await store.addUser(email: "bob@example.com", passwordHash: "h", createdAt: Self.t0)
            try await Self.addSession(store, Self.session("phone", userID: ada.id, createdAfter: 10))
            try await Self.addSession(
                store, Self.session("stale", userID: ada.id, createdAfter: 20, lastSeenAfter: -200))
            try await Self.addSession(store, Self.session("bob", userID: bob.id, createdAfter: 30))
            for offset in 1...3 {
                try await store.addActivity(
                    ActivityEvent(userID: ada.id, kind: .loginSucceeded, at: Self.t0 + TimeInterval(offset)))
            }
            try await store.addActivity(ActivityEvent(userID: bob.id, kind: .loginFailed, at: Self.t0 + 9))
            // Without a factor, then with one: the factor is read only while it is active.
            for round in 0..<2 {
                if round == 1 {
                    try await Self.activate(store, userID: ada.id, secret: Data("s".utf8), codes: [Data("c".utf8)])
                }
                let overview = try await store.accountOverview(
                    userID: ada.id, now: now, idleCutoff: idleCutoff, activityLimit: 2)
                let user = try await store.findUser(by: .id(ada.id))
                #expect(overview?.user == user)
                #expect(overview?.user.secondFactorEnabled == (round == 1))
                #expect(overview?.secondFactor == (round == 1 ? try await store.secondFactor(userID: ada.id) : nil))
                #expect(overview?.secondFactor?.recoveryCodesLeft == (round == 1 ? 1 : nil))
                #expect(
                    overview?.sessions
                        == (try await store.listSessions(userID: ada.id, now: now, idleCutoff: idleCutoff)))
                #expect(overview?.sessions.isEmpty == false)
                #expect(overview?.activity == (try await store.listActivity(userID: ada.id, limit: 2)))
                #expect(overview?.activity.count == 2)
            }
            #expect(try await store.deleteUser(id: ada.id))
            #expect(
                try await store.accountOverview(userID: ada.id, now: now, idleCutoff: idleCutoff, activityLimit: 2)
                    == nil)

        case .purgeActivityRemovesOnlyOldEntries:
            let ada = try await store.addUser(email: "ada@example.com", passwordHash: "h", createdAt: Self.t0)
            let old = ActivityEvent(userID: ada.id, kind: .loginSucceeded, at: Self.t0)
            let recent = ActivityEvent(userID: ada.id, kind: .sessionRevoked, at: Self.t0 + 100)
            try await store.addActivity(old)
            try await store.addActivity(recent)
            #expect(try await store.purgeActivity(before: Self.t0 + 50) == 1)
            #expect(try await store.listActivity(userID: ada.id, limit: 10) == [recent])
            #expect(try await store.purgeActivity(before: Self.t0 + 50) == 0)

        default:
            Issue.record("\(self) is not an activity check")
        }
    }
}
