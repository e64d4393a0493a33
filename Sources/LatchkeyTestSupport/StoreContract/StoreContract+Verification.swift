import Foundation
import LatchkeyCore
import Testing

extension StoreContract {
    /// A verification token for a user and address, issued at `t0`, valid for an hour.
    static func verification(_ seed: String, userID: Int64, email: String) -> VerificationToken {
        VerificationToken(
            userID: userID, email: email, tokenDigest: digest(seed), createdAt: t0, expiresAt: t0 + 3600)
    }

    /// A pending claim of a user's address, made at `t0` with the hash "claim".
    static func pendingClaim(userID: Int64, hash: String = "claim", expiresAt: Date = t0 + 3600) -> PendingClaim {
        PendingClaim(userID: userID, passwordHash: hash, createdAt: t0, expiresAt: expiresAt)
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

        case .pendingClaimsAreKeptForUnverifiedAddressesOnly:
            let ada = try await store.addUser(email: "ada@example.com", passwordHash: "h", createdAt: Self.t0)
            let bob = try await store.addUser(email: "bob@example.com", passwordHash: "h", createdAt: Self.t0)
            #expect(try await store.pendingClaim(userID: ada.id) == nil)
            #expect(try await store.setPendingClaim(Self.pendingClaim(userID: ada.id, hash: "first")))
            let newer = Self.pendingClaim(userID: ada.id, hash: "newer", expiresAt: Self.t0 + 7200)
            #expect(try await store.setPendingClaim(newer))
            #expect(try await store.pendingClaim(userID: ada.id) == newer)
            // Not for a verified address, nor for nobody.
            #expect(try await store.setEmailVerified(userID: bob.id, true))
            #expect(try await store.setPendingClaim(Self.pendingClaim(userID: bob.id)) == false)
            #expect(try await store.pendingClaim(userID: bob.id) == nil)
            #expect(try await store.setPendingClaim(Self.pendingClaim(userID: ada.id + 99)) == false)
            // Purged once expired; a rename or a deletion takes it.
            let carol = try await store.addUser(email: "carol@example.com", passwordHash: "h", createdAt: Self.t0)
            #expect(try await store.setPendingClaim(Self.pendingClaim(userID: carol.id)))
            let purged = try await store.purgeExpired(now: Self.t0 + 3600, idleCutoff: Self.t0)
            #expect(purged.pendingClaims == 1)
            #expect(try await store.pendingClaim(userID: carol.id) == nil)
            #expect(try await store.pendingClaim(userID: ada.id) == newer)
            #expect(try await store.renameUser(id: ada.id, email: "ada.l@example.com"))
            #expect(try await store.pendingClaim(userID: ada.id) == nil)
            #expect(try await store.setPendingClaim(Self.pendingClaim(userID: ada.id)))
            #expect(try await store.deleteUser(id: ada.id))
            #expect(try await store.pendingClaim(userID: ada.id) == nil)

        case .firstProofSettlesThePendingClaim:
            // Without a password: refused while a live claim exists (the token stays), accepted
            // once it expired; nothing else changes.
            let ada = try await store.addUser(email: "ada@example.com", passwordHash: "h", createdAt: Self.t0)
            let own = Self.verification("own", userID: ada.id, email: "ada@example.com")
            try await store.setVerificationToken(own)
            #expect(try await store.setPendingClaim(Self.pendingClaim(userID: ada.id)))
            #expect(try await store.consumeVerificationToken(own, now: Self.t0) == .claimPending)
            #expect(try await store.findVerificationToken(digest: own.tokenDigest) == own)
            #expect(try await store.findUser(by: .id(ada.id))?.emailVerified == false)
            #expect(try await store.consumeVerificationToken(own, now: Self.t0 + 3599) == .claimPending)
            #expect(try await store.setPendingClaim(Self.pendingClaim(userID: ada.id, expiresAt: Self.t0 + 10)))
            #expect(try await store.consumeVerificationToken(own, now: Self.t0 + 10) == .verified)
            #expect(try await store.findUser(by: .id(ada.id))?.passwordHash == "h")

            // With a password chosen: the hash, and what the proof revokes, in the same step.
            for ending in [true, false] {
                let name = "proof-\(ending)"
                let user = try await Self.accountWithEverything(store, name)
                let token = Self.verification("\(name)-own", userID: user.id, email: "\(name)@example.com")
                try await store.setVerificationToken(token)
                let revoking = PasswordRevocation.proofOfMailbox(endingSessions: ending)
                let proof = MailboxProof(passwordHash: "chosen", revoking: revoking)
                #expect(try await store.consumeVerificationToken(token, now: Self.t0, proving: proof) == .verified)
                let stored = try await store.findUser(by: .id(user.id))
                #expect(stored?.passwordHash == "chosen" && stored?.emailVerified == true)
                // The pending change went with the token (one per account); the rest as declared.
                var expected = Leftovers(after: revoking)
                expected.verificationToken = false
                #expect(try await Self.leftovers(store, name, userID: user.id) == expected, "proof ending \(ending)")
                #expect(try await store.findSession(digest: Self.digest("\(name)-kept")) != nil || ending)
            }

            // A proof is ignored for an address verified already and for a change of address.
            let bob = try await store.addUser(email: "bob@example.com", passwordHash: "h", createdAt: Self.t0)
            #expect(try await store.setEmailVerified(userID: bob.id, true))
            let again = Self.verification("again", userID: bob.id, email: "bob@example.com")
            try await store.setVerificationToken(again)
            let proof = MailboxProof(passwordHash: "chosen", revoking: .proofOfMailbox(endingSessions: true))
            #expect(try await store.consumeVerificationToken(again, now: Self.t0, proving: proof) == .verified)
            #expect(try await store.findUser(by: .id(bob.id))?.passwordHash == "h")
            let carol = try await store.addUser(email: "carol@example.com", passwordHash: "h", createdAt: Self.t0)
            #expect(try await store.setPendingClaim(Self.pendingClaim(userID: carol.id)))
            let change = Self.verification("change", userID: carol.id, email: "carol.new@example.com")
            try await store.setVerificationToken(change)
            #expect(
                try await store.consumeVerificationToken(change, now: Self.t0, proving: proof)
                    == .changed(from: "carol@example.com"))
            #expect(try await store.findUser(by: .id(carol.id))?.passwordHash == "h")
            #expect(try await store.pendingClaim(userID: carol.id) == nil)

        default:
            Issue.record("\(self) is not a verification check")
        }
    }
}
