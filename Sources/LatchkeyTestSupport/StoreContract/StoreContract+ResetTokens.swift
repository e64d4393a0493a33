import Foundation
import LatchkeyCore
import Testing

extension StoreContract {
    /// The checks of reset tokens and the atomic password reset.
    func runResetTokens(on store: any AdminStore) async throws {
        switch self {
        case .newerResetTokenReplacesOlder:
            let user = try await store.addUser(email: "ada@example.com", passwordHash: "h", createdAt: Self.t0)
            let first = Self.resetToken("r1", userID: user.id)
            try await store.setResetToken(first)
            #expect(try await store.findResetToken(userID: user.id) == first)
            let second = Self.resetToken(
                "r2",
                userID: user.id,
                createdAt: Self.t0.addingTimeInterval(10),
                expiresAt: Self.t0.addingTimeInterval(3610)
            )
            try await store.setResetToken(second)
            #expect(try await store.findResetToken(userID: user.id) == second)
            let now = Self.t0.addingTimeInterval(20)
            let usedOld = try await store.resetPassword(
                userID: user.id,
                digest: Self.digest("r1"),
                passwordHash: "x",
                now: now
            )
            #expect(usedOld == false)

        case .resetPasswordIsSingleUseAndEndsSessions:
            let user = try await store.addUser(email: "ada@example.com", passwordHash: "old", createdAt: Self.t0)
            try await Self.addSession(store, Self.session("s", userID: user.id), hash: "old")
            try await store.addLoginChallenge(Self.loginChallenge("login", userID: user.id))
            try await store.setResetToken(Self.resetToken("r", userID: user.id))
            let now = Self.t0.addingTimeInterval(60)
            #expect(
                try await store.resetPassword(userID: user.id, digest: Self.digest("r"), passwordHash: "new", now: now))
            #expect(try await store.findUser(by: .id(user.id))?.passwordHash == "new")
            #expect(try await store.findSession(digest: Self.digest("s")) == nil)
            #expect(try await store.findLoginChallenge(digest: Self.digest("login")) == nil)
            #expect(try await store.findResetToken(userID: user.id) == nil)
            let again = try await store.resetPassword(
                userID: user.id,
                digest: Self.digest("r"),
                passwordHash: "again",
                now: now
            )
            #expect(again == false)
            #expect(try await store.findUser(by: .id(user.id))?.passwordHash == "new")

        case .resetPasswordCanKeepSessionsButNotLoginTokens:
            // RESET_ENDS_SESSIONS=false: the sessions stay; a pending email change and the logins
            // waiting for a code (bound to the old hash) go, as with true; so does the token.
            let ada = try await store.addUser(email: "ada@example.com", passwordHash: "old", createdAt: Self.t0)
            let bob = try await store.addUser(email: "bob@example.com", passwordHash: "old", createdAt: Self.t0)
            try await Self.addSession(store, Self.session("ada-phone", userID: ada.id), hash: "old")
            try await Self.addSession(store, Self.session("ada-laptop", userID: ada.id), hash: "old")
            try await store.addLoginChallenge(Self.loginChallenge("ada-login", userID: ada.id))
            try await store.addLoginChallenge(Self.loginChallenge("bob-login", userID: bob.id))
            try await store.setVerificationToken(Self.verification("ada-new", userID: ada.id, email: "ada@new.example"))
            try await store.setResetToken(Self.resetToken("r", userID: ada.id))
            let now = Self.t0.addingTimeInterval(60)
            #expect(
                try await store.resetPassword(
                    userID: ada.id, digest: Self.digest("r"), passwordHash: "new", now: now,
                    revoking: .passwordReset(endingSessions: false)))
            #expect(try await store.findUser(by: .id(ada.id))?.passwordHash == "new")
            #expect(try await store.findSession(digest: Self.digest("ada-phone")) != nil)
            #expect(try await store.findSession(digest: Self.digest("ada-laptop")) != nil)
            #expect(try await store.findLoginChallenge(digest: Self.digest("ada-login")) == nil)
            #expect(try await store.findLoginChallenge(digest: Self.digest("bob-login")) != nil)
            #expect(try await store.findVerificationToken(digest: Self.digest("ada-new")) == nil)
            #expect(try await store.findResetToken(userID: ada.id) == nil)
            #expect(
                try await store.resetPassword(
                    userID: ada.id, digest: Self.digest("r"), passwordHash: "again", now: now,
                    revoking: .passwordReset(endingSessions: false))
                    == false)

        case .resetPasswordRefusesWrongOrExpiredToken:
            let user = try await store.addUser(email: "ada@example.com", passwordHash: "old", createdAt: Self.t0)
            try await store.setResetToken(Self.resetToken("r", userID: user.id))
            let inTime = Self.t0.addingTimeInterval(60)
            let wrong = try await store.resetPassword(
                userID: user.id,
                digest: Self.digest("wrong"),
                passwordHash: "x",
                now: inTime
            )
            #expect(wrong == false)
            let tooLate = Self.t0.addingTimeInterval(3600)
            let expired = try await store.resetPassword(
                userID: user.id,
                digest: Self.digest("r"),
                passwordHash: "x",
                now: tooLate
            )
            #expect(expired == false)
            #expect(try await store.findUser(by: .id(user.id))?.passwordHash == "old")

        default:
            Issue.record("\(self) is not one of these checks")
        }
    }
}
