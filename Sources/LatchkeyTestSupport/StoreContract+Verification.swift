import Foundation
import LatchkeyCore
import Testing

extension StoreContract {
    /// A verification token for a user and address, issued at `t0`, valid for an hour.
    static func verification(_ seed: String, userID: Int64, email: String) -> VerificationToken {
        VerificationToken(
            userID: userID, email: email, tokenDigest: digest(seed), createdAt: t0, expiresAt: t0 + 3600)
    }

    /// The checks of address verification and change.
    func runVerification(on store: any AdminStore) async throws {
        switch self {
        case .verificationTokensRoundTripAndReplace:
            let ada = try await store.addUser(email: "ada@example.com", passwordHash: "h", createdAt: Self.t0)
            #expect(try await store.findUser(by: .id(ada.id))?.emailVerified == false)
            let first = Self.verification("first", userID: ada.id, email: "ada@example.com")
            try await store.setVerificationToken(first)
            #expect(try await store.findVerificationToken(digest: Self.digest("first")) == first)
            let second = Self.verification("second", userID: ada.id, email: "ada.new@example.com")
            try await store.setVerificationToken(second)
            #expect(try await store.findVerificationToken(digest: Self.digest("first")) == nil)
            #expect(try await store.findVerificationToken(digest: Self.digest("second")) == second)
            await #expect(throws: StoreError.notFound) {
                try await store.setVerificationToken(
                    Self.verification("ghost", userID: ada.id + 99, email: "g@example.com"))
            }
            #expect(try await store.setEmailVerified(userID: ada.id, true))
            #expect(try await store.findUser(by: .email("ada@example.com"))?.emailVerified == true)
            #expect(
                try await store.listUsers(after: nil, limit: 10, now: Self.t0, idleCutoff: Self.t0).first?.emailVerified
                    == true)
            #expect(try await store.setEmailVerified(userID: ada.id + 99, true) == false)
            // Expired tokens are purged.
            let purged = try await store.purgeExpired(now: Self.t0 + 3600, idleCutoff: Self.t0)
            #expect(purged.verificationTokens == 1)
            #expect(try await store.findVerificationToken(digest: Self.digest("second")) == nil)

        case .verificationVerifiesTheOwnAddressOnce:
            let ada = try await store.addUser(email: "ada@example.com", passwordHash: "h", createdAt: Self.t0)
            let token = Self.verification("own", userID: ada.id, email: "ada@example.com")
            try await store.setVerificationToken(token)
            // Expired, or bound to another address: nothing changes.
            #expect(try await store.consumeVerificationToken(token, now: Self.t0 + 3600) == .invalid)
            var other = token
            other.email = "eve@example.com"
            #expect(try await store.consumeVerificationToken(other, now: Self.t0) == .invalid)
            #expect(try await store.findUser(by: .id(ada.id))?.emailVerified == false)
            #expect(try await store.consumeVerificationToken(token, now: Self.t0 + 10) == .verified)
            #expect(try await store.findUser(by: .id(ada.id))?.emailVerified == true)
            #expect(try await store.consumeVerificationToken(token, now: Self.t0 + 10) == .invalid)

        case .verificationChangesTheAddressUnlessTaken:
            let ada = try await store.addUser(email: "ada@example.com", passwordHash: "h", createdAt: Self.t0)
            try await Self.addSession(store, Self.session("ada-session", userID: ada.id))
            let change = Self.verification("change", userID: ada.id, email: "ada.new@example.com")
            try await store.setVerificationToken(change)
            // Someone registers the new address first: nothing changes, and the token stays.
            let eve = try await store.addUser(email: "ada.new@example.com", passwordHash: "h", createdAt: Self.t0)
            #expect(try await store.consumeVerificationToken(change, now: Self.t0 + 10) == .taken)
            #expect(try await store.findUser(by: .id(ada.id))?.email == "ada@example.com")
            #expect(try await store.findVerificationToken(digest: Self.digest("change")) == change)
            #expect(try await store.deleteUser(id: eve.id))
            #expect(
                try await store.consumeVerificationToken(change, now: Self.t0 + 10) == .changed(from: "ada@example.com")
            )
            let moved = try await store.findUser(by: .email("ada.new@example.com"))
            #expect(moved?.id == ada.id && moved?.emailVerified == true)
            #expect(try await store.findUser(by: .email("ada@example.com")) == nil)
            // Sessions stay, and carry the new address.
            #expect(
                try await store.findSession(digest: Self.digest("ada-session"))?.user.email == "ada.new@example.com")
            #expect(try await store.consumeVerificationToken(change, now: Self.t0 + 10) == .invalid)

        default:
            Issue.record("\(self) is not a verification check")
        }
    }
}
