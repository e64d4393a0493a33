import Foundation
import LatchkeyCore
import Testing

/// The storage contract: what every `AuthStore` must do, run against each store by the
/// store tests. Each case is a separate check so that a failure names the rule it broke.
public enum StoreContract: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case addAndFindUser
    case duplicateEmailIsTyped
    case concurrentDuplicatesHaveOneWinner
    case unknownUserIsNil
    case updateUserChangesHash
    case sessionsRoundTrip
    case deleteSessionEndsOnlyThatSession
    case deleteSessionsEndsAllOfOneUser
    case newerResetTokenReplacesOlder
    case resetPasswordIsSingleUseAndEndsSessions
    case resetPasswordRefusesWrongOrExpiredToken
    case sessionNeedsTheCheckedPasswordHash
    case purgeRemovesOnlyExpired
    case nulInTextIsInvalidValue
    case throttleRecordsRoundTrip
    case deleteThrottleRecordRemovesOnlyItsKey
    case concurrentThrottleUpdatesAllCount
    case purgeRemovesOnlyQuietThrottles
    case listUsersPagesByEmailAndCountsLiveSessions
    case deleteUserTakesSessionsAndResetToken
    case addUsersSkipsTakenEmails
    case addSessionsInBulk

    /// The case's name in test output.
    public var testDescription: String { rawValue }

    /// A fixed, whole-second instant, so that every store round-trips it exactly.
    static let t0 = Date(timeIntervalSince1970: 1_800_000_000)

    static func digest(_ seed: String) -> TokenDigest { TokenDigest(of: seed) }

    /// A session created at `t0` and valid for an hour unless told otherwise.
    static func session(
        _ seed: String,
        userID: Int64,
        lastSeenAt: Date = t0,
        expiresAt: Date = t0.addingTimeInterval(3600)
    ) -> Session {
        Session(tokenDigest: digest(seed), userID: userID, createdAt: t0, lastSeenAt: lastSeenAt, expiresAt: expiresAt)
    }

    /// A reset token issued at `createdAt` and valid until `expiresAt`.
    static func resetToken(
        _ seed: String,
        userID: Int64,
        createdAt: Date = t0,
        expiresAt: Date = t0.addingTimeInterval(3600)
    ) -> ResetToken {
        ResetToken(userID: userID, tokenDigest: digest(seed), createdAt: createdAt, expiresAt: expiresAt)
    }

    /// Adds a session for a user whose password hash is `hash`, expecting success.
    static func addSession(_ store: any AuthStore, _ session: Session, hash: String = "h") async throws {
        let added = try await store.addSession(session, ifPasswordHash: hash)
        #expect(added)
    }

    /// Runs this check against a fresh, empty store.
    /// - Parameter store: The store under test; it must be empty.
    /// - Throws: When the store throws where the contract says it must not.
    public func run(on store: any AdminStore) async throws {
        switch self {
        case .addAndFindUser:
            let user = try await store.addUser(email: "ada@example.com", passwordHash: "h1", createdAt: Self.t0)
            #expect(user.email == "ada@example.com")
            #expect(user.passwordHash == "h1")
            #expect(user.createdAt == Self.t0)
            #expect(try await store.findUser(by: .email("ada@example.com")) == user)
            #expect(try await store.findUser(by: .id(user.id)) == user)
            let other = try await store.addUser(email: "bob@example.com", passwordHash: "h2", createdAt: Self.t0)
            #expect(other.id != user.id)

        case .duplicateEmailIsTyped:
            _ = try await store.addUser(email: "ada@example.com", passwordHash: "h1", createdAt: Self.t0)
            await #expect(throws: StoreError.duplicateEmail) {
                _ = try await store.addUser(email: "ada@example.com", passwordHash: "h2", createdAt: Self.t0)
            }
            #expect(try await store.findUser(by: .email("ada@example.com"))?.passwordHash == "h1")

        case .concurrentDuplicatesHaveOneWinner:
            let outcomes = await withTaskGroup(of: Result<User, any Error>.self) { group in
                for index in 0..<16 {
                    group.addTask {
                        do {
                            return .success(
                                try await store.addUser(
                                    email: "race@example.com",
                                    passwordHash: "h\(index)",
                                    createdAt: Self.t0
                                )
                            )
                        } catch {
                            return .failure(error)
                        }
                    }
                }
                var all: [Result<User, any Error>] = []
                for await outcome in group { all.append(outcome) }
                return all
            }
            let winners = outcomes.filter { if case .success = $0 { true } else { false } }
            let duplicates = outcomes.filter {
                if case .failure(let error) = $0, error as? StoreError == .duplicateEmail { true } else { false }
            }
            #expect(winners.count == 1)
            #expect(duplicates.count == 15)

        case .nulInTextIsInvalidValue:
            await #expect(throws: StoreError.invalidValue("text must not contain a NUL character")) {
                _ = try await store.addUser(email: "a\u{0}b@example.com", passwordHash: "h", createdAt: Self.t0)
            }
            #expect(try await store.findUser(by: .email("a\u{0}b@example.com")) == nil)
            #expect(try await store.findUser(by: .email("a")) == nil)
            let user = try await store.addUser(email: "ada@example.com", passwordHash: "h", createdAt: Self.t0)
            await #expect(throws: StoreError.invalidValue("text must not contain a NUL character")) {
                try await store.updateUser(id: user.id, UserUpdate(passwordHash: "x\u{0}y"))
            }
            #expect(try await store.findUser(by: .id(user.id))?.passwordHash == "h")
            #expect(try await store.findUser(by: .email("ada@example.com\u{0}evil")) == nil)
            #expect(try await store.addSession(Self.session("s", userID: user.id), ifPasswordHash: "h\u{0}") == false)
            // Every other write of text refuses NUL the same way, and every lookup by text finds nothing.
            await #expect(throws: StoreError.invalidValue("text must not contain a NUL character")) {
                _ = try await store.replacePasswordHash(userID: user.id, from: "h", to: "n\u{0}")
            }
            #expect(try await store.replacePasswordHash(userID: user.id, from: "h\u{0}", to: "n") == false)
            try await store.setResetToken(Self.resetToken("r", userID: user.id))
            await #expect(throws: StoreError.invalidValue("text must not contain a NUL character")) {
                _ = try await store.resetPassword(
                    userID: user.id, digest: Self.digest("r"), passwordHash: "n\u{0}", now: Self.t0)
            }
            #expect(try await store.findUser(by: .id(user.id))?.passwordHash == "h")
            let key = ThrottleKey(.login, "ada@example.com")
            let record = ThrottleRecord(count: 1, firstAt: Self.t0, lastAt: Self.t0)
            try await store.updateThrottleRecord(key) { _ in record }
            await #expect(throws: StoreError.invalidValue("text must not contain a NUL character")) {
                try await store.updateThrottleRecord(ThrottleKey(.login, "ada@example.com\u{0}x")) { _ in record }
            }
            #expect(try await store.throttleRecord(ThrottleKey(.login, "ada@example.com\u{0}x")) == nil)
            try await store.deleteThrottleRecord(ThrottleKey(.login, "ada@example.com\u{0}x"))
            #expect(try await store.throttleRecord(key) == record)
            #expect(try await store.listUsers(after: "a\u{0}", limit: 10, now: Self.t0, idleCutoff: Self.t0).isEmpty)

        case .throttleRecordsRoundTrip:
            let key = ThrottleKey(.login, "ada@example.com")
            #expect(try await store.throttleRecord(key) == nil)
            let record = ThrottleRecord(
                count: 3, firstAt: Self.t0, lastAt: Self.t0 + 10, lockedUntil: Self.t0 + 70, lockCount: 1)
            #expect(try await store.updateThrottleRecord(key) { _ in record } == record)
            #expect(try await store.throttleRecord(key) == record)
            // Another scope or email is another row.
            #expect(try await store.throttleRecord(ThrottleKey(.resetToken, "ada@example.com")) == nil)
            #expect(try await store.throttleRecord(ThrottleKey(.login, "bob@example.com")) == nil)
            let seen = try await store.updateThrottleRecord(key) { stored in
                var next = stored
                next?.lockedUntil = nil
                return next
            }
            #expect(seen?.lockedUntil == nil)
            #expect(try await store.throttleRecord(key)?.lockedUntil == nil)
            #expect(try await store.updateThrottleRecord(key) { _ in nil } == nil)
            #expect(try await store.throttleRecord(key) == nil)

        case .deleteThrottleRecordRemovesOnlyItsKey:
            let record = ThrottleRecord(count: 2, firstAt: Self.t0, lastAt: Self.t0)
            let ada = ThrottleKey(.login, "ada@example.com")
            try await store.updateThrottleRecord(ada) { _ in record }
            try await store.updateThrottleRecord(ThrottleKey(.resetToken, "ada@example.com")) { _ in record }
            try await store.updateThrottleRecord(ThrottleKey(.login, "bob@example.com")) { _ in record }
            try await store.deleteThrottleRecord(ada)
            #expect(try await store.throttleRecord(ada) == nil)
            #expect(try await store.throttleRecord(ThrottleKey(.resetToken, "ada@example.com")) == record)
            #expect(try await store.throttleRecord(ThrottleKey(.login, "bob@example.com")) == record)
            // Deleting what is not there is not an error, and writes nothing.
            try await store.deleteThrottleRecord(ThrottleKey(.login, "nobody@example.com"))
            #expect(try await store.throttleRecord(ThrottleKey(.login, "nobody@example.com")) == nil)

        case .concurrentThrottleUpdatesAllCount:
            let key = ThrottleKey(.login, "race@example.com")
            await withThrowingTaskGroup(of: Void.self) { group in
                for _ in 0..<20 {
                    group.addTask {
                        try await store.updateThrottleRecord(key) { stored in
                            var record = stored ?? ThrottleRecord(count: 0, firstAt: Self.t0, lastAt: Self.t0)
                            record.count += 1
                            return record
                        }
                    }
                }
            }
            #expect(try await store.throttleRecord(key)?.count == 20)

        case .purgeRemovesOnlyQuietThrottles:
            let now = Self.t0 + 100_000
            let quiet = ThrottleRecord(count: 1, firstAt: Self.t0, lastAt: Self.t0)
            let waiting = ThrottleRecord(count: 10, firstAt: Self.t0, lastAt: Self.t0, lockedUntil: now + 60)
            let recent = ThrottleRecord(count: 1, firstAt: now - 10, lastAt: now - 10)
            try await store.updateThrottleRecord(ThrottleKey(.login, "quiet@example.com")) { _ in quiet }
            try await store.updateThrottleRecord(ThrottleKey(.login, "waiting@example.com")) { _ in waiting }
            try await store.updateThrottleRecord(ThrottleKey(.resetRequest, "recent@example.com")) { _ in recent }
            #expect(try await store.purgeThrottles(lastBefore: now - 86_400, now: now) == 1)
            #expect(try await store.throttleRecord(ThrottleKey(.login, "quiet@example.com")) == nil)
            #expect(try await store.throttleRecord(ThrottleKey(.login, "waiting@example.com")) == waiting)
            #expect(try await store.throttleRecord(ThrottleKey(.resetRequest, "recent@example.com")) == recent)

        case .listUsersPagesByEmailAndCountsLiveSessions:
            let carol = try await store.addUser(email: "carol@example.com", passwordHash: "h", createdAt: Self.t0)
            let ada = try await store.addUser(email: "ada@example.com", passwordHash: "h", createdAt: Self.t0 + 1)
            _ = try await store.addUser(email: "bob@example.com", passwordHash: "h", createdAt: Self.t0 + 2)
            try await Self.addSession(store, Self.session("live", userID: ada.id, lastSeenAt: Self.t0 + 100))
            try await Self.addSession(store, Self.session("idle", userID: ada.id, lastSeenAt: Self.t0))
            try await Self.addSession(store, Self.session("over", userID: ada.id, expiresAt: Self.t0 + 50))
            try await Self.addSession(store, Self.session("c", userID: carol.id, lastSeenAt: Self.t0 + 100))
            let now = Self.t0 + 60
            let idleCutoff = Self.t0 + 10
            let all = try await store.listUsers(after: nil, limit: 10, now: now, idleCutoff: idleCutoff)
            #expect(all.map(\.email) == ["ada@example.com", "bob@example.com", "carol@example.com"])
            #expect(all.map(\.liveSessions) == [1, 0, 1])
            #expect(
                all[0] == UserSummary(id: ada.id, email: "ada@example.com", createdAt: Self.t0 + 1, liveSessions: 1))
            let page = try await store.listUsers(after: "ada@example.com", limit: 1, now: now, idleCutoff: idleCutoff)
            #expect(page.map(\.email) == ["bob@example.com"])
            #expect(
                try await store.listUsers(after: "carol@example.com", limit: 5, now: now, idleCutoff: idleCutoff)
                    .isEmpty)

        case .deleteUserTakesSessionsAndResetToken:
            let ada = try await store.addUser(email: "ada@example.com", passwordHash: "h", createdAt: Self.t0)
            let bob = try await store.addUser(email: "bob@example.com", passwordHash: "h", createdAt: Self.t0)
            try await Self.addSession(store, Self.session("a", userID: ada.id))
            try await Self.addSession(store, Self.session("b", userID: bob.id))
            try await store.setResetToken(Self.resetToken("r", userID: ada.id))
            #expect(try await store.deleteUser(id: ada.id))
            #expect(try await store.findUser(by: .email("ada@example.com")) == nil)
            #expect(try await store.findSession(digest: Self.digest("a")) == nil)
            #expect(try await store.findResetToken(userID: ada.id) == nil)
            #expect(try await store.findSession(digest: Self.digest("b")) != nil)
            #expect(try await store.deleteUser(id: ada.id) == false)
            // The address can be registered again.
            _ = try await store.addUser(email: "ada@example.com", passwordHash: "h2", createdAt: Self.t0)

        case .addUsersSkipsTakenEmails:
            _ = try await store.addUser(email: "taken@example.com", passwordHash: "old", createdAt: Self.t0)
            let added = try await store.addUsers([
                NewUser(email: "ada@example.com", passwordHash: "h1", createdAt: Self.t0),
                NewUser(email: "taken@example.com", passwordHash: "h2", createdAt: Self.t0),
                NewUser(email: "bob@example.com", passwordHash: "h3", createdAt: Self.t0 + 5),
            ])
            #expect(added == [true, false, true])
            #expect(try await store.findUser(by: .email("taken@example.com"))?.passwordHash == "old")
            #expect(try await store.findUser(by: .email("bob@example.com"))?.createdAt == Self.t0 + 5)
            await #expect(throws: StoreError.self) {
                _ = try await store.addUsers([
                    NewUser(email: "nul\u{0}@example.com", passwordHash: "h", createdAt: Self.t0)
                ])
            }

        case .addSessionsInBulk:
            let ada = try await store.addUser(email: "ada@example.com", passwordHash: "h", createdAt: Self.t0)
            try await store.addSessions([Self.session("one", userID: ada.id), Self.session("two", userID: ada.id)])
            #expect(try await store.findSession(digest: Self.digest("one"))?.user == SessionUser(ada))
            #expect(
                try await store.findSession(digest: Self.digest("two"))?.session == Self.session("two", userID: ada.id))
            // One missing user refuses the whole batch.
            await #expect(throws: StoreError.notFound) {
                try await store.addSessions([
                    Self.session("three", userID: ada.id), Self.session("orphan", userID: ada.id + 99),
                ])
            }
            #expect(try await store.findSession(digest: Self.digest("three")) == nil)
            #expect(try await store.findSession(digest: Self.digest("orphan")) == nil)

        case .unknownUserIsNil:
            #expect(try await store.findUser(by: .email("nobody@example.com")) == nil)
            #expect(try await store.findUser(by: .id(424_242)) == nil)

        case .updateUserChangesHash:
            let user = try await store.addUser(email: "ada@example.com", passwordHash: "old", createdAt: Self.t0)
            try await store.updateUser(id: user.id, UserUpdate(passwordHash: "new"))
            #expect(try await store.findUser(by: .id(user.id))?.passwordHash == "new")
            await #expect(throws: StoreError.notFound) {
                try await store.updateUser(id: user.id + 1000, UserUpdate(passwordHash: "x"))
            }

        case .sessionsRoundTrip:
            let user = try await store.addUser(email: "ada@example.com", passwordHash: "h", createdAt: Self.t0)
            let session = Self.session("s1", userID: user.id)
            try await Self.addSession(store, session)
            let found = try await store.findSession(digest: Self.digest("s1"))
            #expect(found?.session == session)
            #expect(found?.user == SessionUser(user))
            #expect(try await store.findSession(digest: Self.digest("other")) == nil)
            let later = Self.t0.addingTimeInterval(120)
            try await store.touchSession(digest: Self.digest("s1"), lastSeenAt: later)
            #expect(try await store.findSession(digest: Self.digest("s1"))?.session.lastSeenAt == later)

        case .deleteSessionEndsOnlyThatSession:
            let user = try await store.addUser(email: "ada@example.com", passwordHash: "h", createdAt: Self.t0)
            try await Self.addSession(store, Self.session("phone", userID: user.id))
            try await Self.addSession(store, Self.session("laptop", userID: user.id))
            #expect(try await store.deleteSession(digest: Self.digest("phone")))
            #expect(try await store.findSession(digest: Self.digest("phone")) == nil)
            #expect(try await store.findSession(digest: Self.digest("laptop")) != nil)
            #expect(try await store.deleteSession(digest: Self.digest("phone")) == false)

        case .deleteSessionsEndsAllOfOneUser:
            let ada = try await store.addUser(email: "ada@example.com", passwordHash: "h", createdAt: Self.t0)
            let bob = try await store.addUser(email: "bob@example.com", passwordHash: "h", createdAt: Self.t0)
            for (seed, owner) in [("a1", ada), ("a2", ada), ("b1", bob)] {
                try await Self.addSession(store, Self.session(seed, userID: owner.id))
            }
            #expect(try await store.deleteSessions(userID: ada.id) == 2)
            #expect(try await store.findSession(digest: Self.digest("a1")) == nil)
            #expect(try await store.findSession(digest: Self.digest("a2")) == nil)
            #expect(try await store.findSession(digest: Self.digest("b1"))?.user == SessionUser(bob))

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

        case .sessionNeedsTheCheckedPasswordHash:
            let user = try await store.addUser(email: "ada@example.com", passwordHash: "old", createdAt: Self.t0)
            #expect(try await store.addSession(Self.session("before", userID: user.id), ifPasswordHash: "old"))
            try await store.updateUser(id: user.id, UserUpdate(passwordHash: "new"))
            #expect(try await store.addSession(Self.session("stale", userID: user.id), ifPasswordHash: "old") == false)
            #expect(try await store.findSession(digest: Self.digest("stale")) == nil)
            #expect(try await store.addSession(Self.session("fresh", userID: user.id), ifPasswordHash: "new"))
            let ghost = Self.session("ghost", userID: user.id + 1000)
            #expect(try await store.addSession(ghost, ifPasswordHash: "new") == false)
            #expect(try await store.findSession(digest: Self.digest("ghost")) == nil)

        case .purgeRemovesOnlyExpired:
            let user = try await store.addUser(email: "ada@example.com", passwordHash: "h", createdAt: Self.t0)
            let other = try await store.addUser(email: "bob@example.com", passwordHash: "h", createdAt: Self.t0)
            let now = Self.t0.addingTimeInterval(10_000)
            let idleCutoff = now.addingTimeInterval(-1000)
            let sessions: [(String, Date, Date)] = [
                ("live", now.addingTimeInterval(-10), now.addingTimeInterval(100)),
                ("absolute", now.addingTimeInterval(-10), now.addingTimeInterval(-1)),
                ("idle", now.addingTimeInterval(-2000), now.addingTimeInterval(100)),
            ]
            for (seed, lastSeen, expires) in sessions {
                try await Self.addSession(
                    store, Self.session(seed, userID: user.id, lastSeenAt: lastSeen, expiresAt: expires))
            }
            try await store.setResetToken(
                Self.resetToken("r-old", userID: user.id, expiresAt: now.addingTimeInterval(-1)))
            try await store.setResetToken(
                Self.resetToken("r-new", userID: other.id, expiresAt: now.addingTimeInterval(60)))
            let result = try await store.purgeExpired(now: now, idleCutoff: idleCutoff)
            #expect(result == PurgeResult(sessions: 2, resetTokens: 1))
            #expect(try await store.findSession(digest: Self.digest("live")) != nil)
            #expect(try await store.findSession(digest: Self.digest("absolute")) == nil)
            #expect(try await store.findSession(digest: Self.digest("idle")) == nil)
            #expect(try await store.findResetToken(userID: user.id) == nil)
            #expect(try await store.findResetToken(userID: other.id) != nil)
        }
    }
}
