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
            // A reset token sent to the old mailbox must not work once the address moved.
            try await store.setResetToken(Self.resetToken("old-mailbox", userID: ada.id))
            #expect(
                try await store.consumeVerificationToken(change, now: Self.t0 + 10) == .changed(from: "ada@example.com")
            )
            #expect(try await store.findResetToken(userID: ada.id) == nil)
            let moved = try await store.findUser(by: .email("ada.new@example.com"))
            #expect(moved?.id == ada.id && moved?.emailVerified == true)
            #expect(try await store.findUser(by: .email("ada@example.com")) == nil)
            // Sessions stay, and carry the new address.
            #expect(
                try await store.findSession(digest: Self.digest("ada-session"))?.user.email == "ada.new@example.com")
            #expect(try await store.consumeVerificationToken(change, now: Self.t0 + 10) == .invalid)

        case .passwordChangesAndRenamesDropAPendingVerification:
            let ada = try await store.addUser(email: "ada@example.com", passwordHash: "old", createdAt: Self.t0)
            try await Self.addSession(store, Self.session("current", userID: ada.id), hash: "old")
            let change = Self.verification("change", userID: ada.id, email: "evil@example.com")
            try await store.setVerificationToken(change)
            try await store.setResetToken(Self.resetToken("reset", userID: ada.id))
            #expect(
                try await store.resetPassword(
                    userID: ada.id, digest: Self.digest("reset"), passwordHash: "mid", now: Self.t0))
            #expect(try await store.findVerificationToken(digest: Self.digest("change")) == nil)
            try await store.setVerificationToken(change)
            try await Self.addSession(store, Self.session("again", userID: ada.id), hash: "mid")
            #expect(
                try await store.changePassword(
                    userID: ada.id, from: "mid", to: "new", keeping: Self.digest("again"), as: Self.digest("renewed"),
                    revoking: .passwordChange))
            #expect(try await store.findVerificationToken(digest: Self.digest("change")) == nil)
            try await store.setVerificationToken(change)
            #expect(try await store.setEmailVerified(userID: ada.id, true))
            #expect(try await store.renameUser(id: ada.id, email: "ada.renamed@example.com"))
            #expect(try await store.findVerificationToken(digest: Self.digest("change")) == nil)
            #expect(try await store.findUser(by: .id(ada.id))?.emailVerified == false)

        default:
            Issue.record("\(self) is not a verification check")
        }
    }
}
