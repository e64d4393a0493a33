import Foundation
import LatchkeyCore
import Testing

extension StoreContract {
    /// A session created `offset` seconds after `t0`, last seen then unless told otherwise,
    /// valid for an hour after `t0`.
    static func session(
        _ seed: String, userID: Int64, createdAfter offset: TimeInterval, lastSeenAfter seen: TimeInterval? = nil,
        origin: SessionOrigin = SessionOrigin()
    ) -> Session {
        Session(
            tokenDigest: digest(seed), userID: userID, createdAt: t0 + offset, lastSeenAt: t0 + (seen ?? offset),
            expiresAt: t0 + 3600, origin: origin)
    }

    /// The checks of what an account does with its own sessions: listing, ending one or all
    /// others, the cap, and the password change.
    func runAccountSessions(on store: any AdminStore) async throws {
        // Live at t0 + 60: expiring after it and last seen after t0 - 100.
        let (now, idleCutoff) = (Self.t0 + 60, Self.t0 - 100)
        switch self {
        case .listSessionsShowsLiveOnesNewestFirst:
            let ada = try await store.addUser(email: "ada@example.com", passwordHash: "h", createdAt: Self.t0)
            let bob = try await store.addUser(email: "bob@example.com", passwordHash: "h", createdAt: Self.t0)
            let phone = Self.session(
                "phone", userID: ada.id, createdAfter: 10,
                origin: SessionOrigin(ip: "2001:db8::1", userAgent: "Phone/1.0 (ünïcode)"))
            let laptop = Self.session("laptop", userID: ada.id, createdAfter: 20)
            let stale = Self.session("stale", userID: ada.id, createdAfter: 30, lastSeenAfter: -200)
            for session in [phone, laptop, stale, Self.session("bob", userID: bob.id, createdAfter: 40)] {
                try await Self.addSession(store, session)
            }
            let listed = try await store.listSessions(userID: ada.id, now: now, idleCutoff: idleCutoff)
            #expect(listed == [laptop, phone])
            #expect(listed.last?.ip == "2001:db8::1")
            #expect(listed.last?.userAgent == "Phone/1.0 (ünïcode)")
            #expect(listed.first?.ip == nil)
            #expect(try await store.listSessions(userID: ada.id, now: Self.t0 + 3600, idleCutoff: idleCutoff).isEmpty)

        case .deleteSessionByPublicIDTakesOnlyThatLiveSession:
            let ada = try await store.addUser(email: "ada@example.com", passwordHash: "h", createdAt: Self.t0)
            let bob = try await store.addUser(email: "bob@example.com", passwordHash: "h", createdAt: Self.t0)
            let phone = Self.session("phone", userID: ada.id, createdAfter: 10)
            let stale = Self.session("stale", userID: ada.id, createdAfter: 20, lastSeenAfter: -200)
            let bobs = Self.session("bob", userID: bob.id, createdAfter: 30)
            for session in [phone, stale, bobs] { try await Self.addSession(store, session) }
            // Another account's session, an idle one, an unknown id and a malformed one name nothing.
            for id in [bobs.publicID, stale.publicID, Session.newPublicID(), "not-an-id\u{0}"] {
                #expect(
                    try await store.deleteSession(userID: ada.id, publicID: id, now: now, idleCutoff: idleCutoff)
                        == false)
            }
            #expect(try await store.findSession(digest: bobs.tokenDigest) != nil)
            #expect(
                try await store.deleteSession(
                    userID: ada.id, publicID: phone.publicID, now: now, idleCutoff: idleCutoff))
            #expect(try await store.findSession(digest: phone.tokenDigest) == nil)

        case .deleteSessionsExceptOneKeepsIt:
            let ada = try await store.addUser(email: "ada@example.com", passwordHash: "h", createdAt: Self.t0)
            let bob = try await store.addUser(email: "bob@example.com", passwordHash: "h", createdAt: Self.t0)
            let keep = Self.session("keep", userID: ada.id, createdAfter: 10)
            let others = (1...3).map { Self.session("other\($0)", userID: ada.id, createdAfter: 10 + Double($0)) }
            let stale = Self.session("stale", userID: ada.id, createdAfter: 20, lastSeenAfter: -200)
            let bobs = Self.session("bob", userID: bob.id, createdAfter: 30)
            for session in [keep, stale, bobs] + others { try await Self.addSession(store, session) }
            let ended = try await store.deleteSessions(
                userID: ada.id, except: keep.tokenDigest, now: now, idleCutoff: idleCutoff)
            #expect(ended == 3)
            #expect(try await store.listSessions(userID: ada.id, now: now, idleCutoff: idleCutoff) == [keep])
            #expect(try await store.findSession(digest: bobs.tokenDigest) != nil)

        case .addSessionEndsTheLeastRecentlyUsedBeyondTheCap:
            let ada = try await store.addUser(email: "ada@example.com", passwordHash: "h", createdAt: Self.t0)
            let bob = try await store.addUser(email: "bob@example.com", passwordHash: "h", createdAt: Self.t0)
            // Created in one order, last used in another: use decides.
            let sessions = [("a", 40.0), ("b", 10), ("c", 30), ("d", 20)].enumerated().map { index, pair in
                Self.session(pair.0, userID: ada.id, createdAfter: Double(index), lastSeenAfter: pair.1)
            }
            let bobs = Self.session("bob", userID: bob.id, createdAfter: 0)
            for session in sessions + [bobs] {
                #expect(try await store.addSession(session, ifPasswordHash: "h", keepingAtMost: 4))
            }
            #expect(try await store.listSessions(userID: ada.id, now: now, idleCutoff: idleCutoff).count == 4)
            // A refused session ends nothing.
            let refused = Self.session("refused", userID: ada.id, createdAfter: 49)
            #expect(try await store.addSession(refused, ifPasswordHash: "stale", keepingAtMost: 1) == false)
            #expect(try await store.listSessions(userID: ada.id, now: now, idleCutoff: idleCutoff).count == 4)
            let newest = Self.session("e", userID: ada.id, createdAfter: 50)
            #expect(try await store.addSession(newest, ifPasswordHash: "h", keepingAtMost: 3))
            let kept = try await store.listSessions(userID: ada.id, now: now, idleCutoff: idleCutoff)
            #expect(Set(kept.map(\.publicID)) == Set([newest.publicID, sessions[0].publicID, sessions[2].publicID]))
            #expect(
                try await store.addSession(
                    Self.session("f", userID: ada.id, createdAfter: 51), ifPasswordHash: "h", keepingAtMost: 1))
            #expect(
                try await store.listSessions(userID: ada.id, now: now, idleCutoff: idleCutoff).map(\.tokenDigest) == [
                    Self.digest("f")
                ])
            #expect(try await store.findSession(digest: bobs.tokenDigest) != nil)

        case .changePasswordIsAllOrNothing:
            let ada = try await store.addUser(email: "ada@example.com", passwordHash: "old", createdAt: Self.t0)
            let bob = try await store.addUser(email: "bob@example.com", passwordHash: "old", createdAt: Self.t0)
            let current = Self.session("current", userID: ada.id, createdAfter: 10)
            let other = Self.session("other", userID: ada.id, createdAfter: 20)
            let bobs = Self.session("bob", userID: bob.id, createdAfter: 30)
            for session in [current, other, bobs] { try await Self.addSession(store, session, hash: "old") }
            try await store.setResetToken(Self.resetToken("reset", userID: ada.id))
            let renewed = Self.digest("renewed")
            // A hash that changed meanwhile, another account's session or a gone session: nothing changes.
            #expect(
                try await store.changePassword(
                    userID: ada.id, from: "stale", to: "new", keeping: current.tokenDigest, as: renewed,
                    revoking: .passwordChange) == false)
            #expect(
                try await store.changePassword(
                    userID: ada.id, from: "old", to: "new", keeping: bobs.tokenDigest, as: renewed,
                    revoking: .passwordChange) == false)
            #expect(
                try await store.changePassword(
                    userID: ada.id, from: "old", to: "new", keeping: Self.digest("gone"), as: renewed,
                    revoking: .passwordChange) == false)
            #expect(try await store.findUser(by: .id(ada.id))?.passwordHash == "old")
            #expect(try await store.findSession(digest: other.tokenDigest) != nil)
            #expect(try await store.findResetToken(userID: ada.id) != nil)

            #expect(
                try await store.changePassword(
                    userID: ada.id, from: "old", to: "new", keeping: current.tokenDigest, as: renewed,
                    revoking: .passwordChange))
            #expect(try await store.findUser(by: .id(ada.id))?.passwordHash == "new")
            #expect(try await store.findSession(digest: current.tokenDigest) == nil)
            #expect(try await store.findSession(digest: other.tokenDigest) == nil)
            #expect(try await store.findResetToken(userID: ada.id) == nil)
            var rekeyed = current
            rekeyed.tokenDigest = renewed
            #expect(try await store.listSessions(userID: ada.id, now: now, idleCutoff: idleCutoff) == [rekeyed])
            #expect(try await store.findSession(digest: bobs.tokenDigest) != nil)
            #expect(try await store.findUser(by: .id(bob.id))?.passwordHash == "old")

        default:
            Issue.record("\(self) is not an account-session check")
        }
    }
}
