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
            try await store.setResetToken(Self.resetToken("r", userID: user.id))
            let now = Self.t0.addingTimeInterval(60)
            #expect(
                try await store.resetPassword(userID: user.id, digest: Self.digest("r"), passwordHash: "new", now: now))
            #expect(try await store.findUser(by: .id(user.id))?.passwordHash == "new")
            #expect(try await store.findSession(digest: Self.digest("s")) == nil)
            #expect(try await store.findResetToken(userID: user.id) == nil)
            let again = try await store.resetPassword(
                userID: user.id,
                digest: Self.digest("r"),
                passwordHash: "again",
                now: now
            )
            #expect(again == false)
            #expect(try await store.findUser(by: .id(user.id))?.passwordHash == "new")

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
