import Foundation
import LatchkeyCore
import Testing

extension StoreContract {
    /// What a new password leaves of an account: which of a second session, a reset token, a
    /// verification token, a login challenge and a pending claim are still stored.
    struct Leftovers: Equatable, CustomStringConvertible {
        var sessions: Bool
        var resetToken: Bool
        var verificationToken: Bool
        var loginChallenges: Bool
        var pendingClaim: Bool

        var description: String {
            "sessions \(sessions), reset token \(resetToken), verification token \(verificationToken), "
                + "login challenges \(loginChallenges), pending claim \(pendingClaim)"
        }

        /// What must be left after `revocation`: everything it does not name.
        init(after revocation: PasswordRevocation, resetTokenConsumed: Bool = false) {
            sessions = !revocation.contains(.sessions)
            resetToken = !revocation.contains(.resetToken) && !resetTokenConsumed
            verificationToken = !revocation.contains(.verificationToken)
            loginChallenges = !revocation.contains(.loginChallenges)
            pendingClaim = !revocation.contains(.pendingClaim)
        }

        init(sessions: Bool, resetToken: Bool, verificationToken: Bool, loginChallenges: Bool, pendingClaim: Bool) {
            self.sessions = sessions
            self.resetToken = resetToken
            self.verificationToken = verificationToken
            self.loginChallenges = loginChallenges
            self.pendingClaim = pendingClaim
        }
    }

    /// An account with two sessions ("\(name)-kept", "\(name)-other"), a reset token, a pending
    /// email change, a login challenge and a pending claim of its address, all under the password
    /// hash "old".
    static func accountWithEverything(_ store: any AdminStore, _ name: String) async throws -> User {
        let user = try await store.addUser(email: "\(name)@example.com", passwordHash: "old", createdAt: t0)
        try await addSession(store, session("\(name)-kept", userID: user.id), hash: "old")
        try await addSession(store, session("\(name)-other", userID: user.id), hash: "old")
        try await store.setResetToken(resetToken("\(name)-reset", userID: user.id))
        try await store.setVerificationToken(
            verification("\(name)-verify", userID: user.id, email: "\(name)@new.example"))
        try await store.addLoginChallenge(loginChallenge("\(name)-login", userID: user.id))
        #expect(try await store.setPendingClaim(pendingClaim(userID: user.id)))
        return user
    }

    /// What is left of `accountWithEverything(_:_:)`.
    static func leftovers(_ store: any AdminStore, _ name: String, userID: Int64) async throws -> Leftovers {
        Leftovers(
            sessions: try await store.findSession(digest: digest("\(name)-other")) != nil,
            resetToken: try await store.findResetToken(userID: userID) != nil,
            verificationToken: try await store.findVerificationToken(digest: digest("\(name)-verify")) != nil,
            loginChallenges: try await store.findLoginChallenge(digest: digest("\(name)-login")) != nil,
            pendingClaim: try await store.pendingClaim(userID: userID) != nil)
    }

    /// For a store whose database was made to refuse activity entries (a trigger, say): a
    /// session recorded with a `login_succeeded` entry is stored, and the entry is not.
    /// - Parameters:
    ///   - store: The store.
    ///   - userID: An account of it.
    ///   - passwordHash: The account's stored hash.
    public static func expectSessionWithoutItsRefusedEntry(
        _ store: any AuthStore, userID: Int64, passwordHash: String
    ) async throws {
        let insert = try await store.addSession(
            session("refused-entry", userID: userID), ifPasswordHash: passwordHash, keepingAtMost: 5,
            recording: ActivityEvent(userID: userID, kind: .loginSucceeded, at: t0))
        #expect(insert == SessionInsert(stored: true, activityRecorded: false))
        #expect(try await store.findSession(digest: digest("refused-entry")) != nil)
        #expect(try await store.listActivity(userID: userID, limit: 10).isEmpty)
    }

    /// The checks of what a new password revokes and of the login recorded with its session.
    func runRevocation(on store: any AdminStore) async throws {
        switch self {
        case .newPasswordsRevokeExactlyWhatIsDeclared:
            // Each revocation alone, then the two Core declares: a store applies each member it
            // is given, and nothing else, so the declaration in Core is what happens everywhere.
            let bystander = try await Self.accountWithEverything(store, "bystander")
            let single: [PasswordRevocation] = [
                [], .sessions, .resetToken, .verificationToken, .loginChallenges, .pendingClaim,
            ]
            for (index, revocation) in (single + [.passwordChange]).enumerated() {
                let name = "change\(index)"
                let user = try await Self.accountWithEverything(store, name)
                #expect(
                    try await store.changePassword(
                        userID: user.id, from: "old", to: "new", keeping: Self.digest("\(name)-kept"),
                        as: Self.digest("\(name)-renewed"), revoking: revocation))
                #expect(
                    try await Self.leftovers(store, name, userID: user.id) == Leftovers(after: revocation),
                    "changePassword revoking \(revocation.rawValue)")
                #expect(try await store.findSession(digest: Self.digest("\(name)-renewed")) != nil)
            }
            for (index, revocation)
                in (single + [.passwordReset(endingSessions: true), .passwordReset(endingSessions: false)])
                .enumerated()
            {
                let name = "reset\(index)"
                let user = try await Self.accountWithEverything(store, name)
                #expect(
                    try await store.resetPassword(
                        userID: user.id, digest: Self.digest("\(name)-reset"), passwordHash: "new",
                        now: Self.t0.addingTimeInterval(60), revoking: revocation))
                #expect(
                    try await Self.leftovers(store, name, userID: user.id)
                        == Leftovers(after: revocation, resetTokenConsumed: true),
                    "resetPassword revoking \(revocation.rawValue)")
                let kept = try await store.findSession(digest: Self.digest("\(name)-kept")) != nil
                #expect(kept == !revocation.contains(.sessions), "resetPassword revoking \(revocation.rawValue)")
            }
            #expect(
                try await Self.leftovers(store, "bystander", userID: bystander.id)
                    == Leftovers(after: []), "another account's tokens stay")
            #expect(
                PasswordRevocation.passwordChange == [.sessions, .resetToken, .verificationToken, .loginChallenges])
            #expect(PasswordRevocation.passwordReset(endingSessions: true) == .passwordChange.union(.pendingClaim))
            #expect(
                PasswordRevocation.passwordReset(endingSessions: false) == [
                    .resetToken, .verificationToken, .loginChallenges, .pendingClaim,
                ])
            for ending in [true, false] {
                #expect(
                    PasswordRevocation.proofOfMailbox(endingSessions: ending)
                        == .passwordReset(endingSessions: ending))
            }

        case .addSessionRecordsTheLoginWithIt:
            let user = try await store.addUser(email: "ada@example.com", passwordHash: "old", createdAt: Self.t0)
            let event = ActivityEvent(
                userID: user.id, kind: .loginSucceeded, at: Self.t0,
                origin: SessionOrigin(ip: "192.0.2.1", userAgent: "contract"))
            let insert = try await store.addSession(
                Self.session("s", userID: user.id), ifPasswordHash: "old", keepingAtMost: 5, recording: event)
            #expect(insert == SessionInsert(stored: true, activityRecorded: true))
            #expect(try await store.findSession(digest: Self.digest("s")) != nil)
            #expect(try await store.listActivity(userID: user.id, limit: 10) == [event])
            // Refused: no session, and no entry either.
            let refused = try await store.addSession(
                Self.session("t", userID: user.id), ifPasswordHash: "stale", keepingAtMost: 5, recording: event)
            #expect(refused == .refused)
            #expect(try await store.listActivity(userID: user.id, limit: 10) == [event])
            // Without an entry: the session alone.
            let plain = try await store.addSession(
                Self.session("u", userID: user.id), ifPasswordHash: "old", keepingAtMost: 5, recording: nil)
            #expect(plain == SessionInsert(stored: true, activityRecorded: false))
            #expect(try await store.listActivity(userID: user.id, limit: 10).count == 1)

        default:
            Issue.record("not a revocation check: \(self)")
        }
    }
}
