import Foundation
import LatchkeyCore
import Testing

extension StoreContract {
    /// The checks of step-up: a session raised to level 2 under a new token, keeping the rest.
    func runStepUp(on store: any AdminStore) async throws {
        let ada = try await store.addUser(email: "ada@example.com", passwordHash: "h", createdAt: Self.t0)
        let bob = try await store.addUser(email: "bob@example.com", passwordHash: "h", createdAt: Self.t0)
        switch self {
        case .stepUpRaisesOnlyALiveSessionOfAnAccountWithAFactor:
            let weak = Self.session("weak", userID: ada.id)
            try await Self.addSession(store, weak)
            // No factor yet: nothing changes.
            #expect(
                try await store.stepUpSession(userID: ada.id, keeping: weak.tokenDigest, as: Self.digest("raised"))
                    == false)
            #expect(try await store.findSession(digest: weak.tokenDigest)?.session.aal == 1)
            try await Self.activate(store, userID: ada.id, secret: Self.bytes("secret"))
            // Activation ends the other sessions; a one-factor session kept from before (an
            // operator's import) is added again.
            try await store.addSessions([weak])
            // Another user's session is not raised for this user.
            let bobs = Self.session("bobs", userID: bob.id)
            try await Self.addSession(store, bobs)
            #expect(
                try await store.stepUpSession(userID: ada.id, keeping: bobs.tokenDigest, as: Self.digest("stolen"))
                    == false)
            #expect(try await store.findSession(digest: Self.digest("stolen")) == nil)
            #expect(
                try await store.stepUpSession(userID: ada.id, keeping: weak.tokenDigest, as: Self.digest("raised")))
            #expect(try await store.findSession(digest: weak.tokenDigest) == nil)
            let raised = try #require(try await store.findSession(digest: Self.digest("raised"))?.session)
            var expected = weak
            expected.tokenDigest = Self.digest("raised")
            expected.aal = 2
            #expect(raised == expected)
            // The old token raises nothing twice.
            #expect(
                try await store.stepUpSession(userID: ada.id, keeping: weak.tokenDigest, as: Self.digest("again"))
                    == false)
        default:
            Issue.record("\(self) is not a step-up check")
        }
    }
}
