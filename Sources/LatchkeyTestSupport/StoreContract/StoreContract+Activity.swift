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
