import Foundation
import LatchkeyCore
import Testing

extension StoreContract {
    /// Opaque bytes standing for a sealed secret or a recovery code's digest: a store only
    /// compares them.
    static func bytes(_ seed: String) -> Data { Data(seed.utf8) }

    /// Gives a user an active factor with the secret `secret`, confirmed at `step` by the session
    /// `seed` (added for it), and the recovery codes `codes`.
    /// - Returns: The confirming session's new digest.
    @discardableResult
    static func activate(
        _ store: any AdminStore, userID: Int64, secret: Data, step: Int64 = 100, codes: [Data] = [],
        session seed: String = "confirming"
    ) async throws -> TokenDigest {
        try await addSession(store, session("\(seed)-\(userID)", userID: userID))
        #expect(try await Self.pend(store, userID: userID, sealed: secret))
        let replacement = digest("\(seed)-\(userID)-renewed")
        #expect(
            try await store.activateTOTP(
                userID: userID, pending: secret, step: step, recoveryCodes: codes,
                keeping: digest("\(seed)-\(userID)"), as: replacement))
        return replacement
    }

    /// Begins an enrolment from the factor's current revision, as `Auth` does.
    static func pend(_ store: any AdminStore, userID: Int64, sealed: Data) async throws -> Bool {
        let revision = try await store.secondFactor(userID: userID)?.revision
        return try await store.setPendingTOTPSecret(userID: userID, sealed: sealed, ifRevision: revision)
    }

    /// Replaces the recovery codes from the factor's current revision, as `Auth` does.
    static func replaceCodes(_ store: any AdminStore, userID: Int64, digests: [Data]) async throws -> Bool {
        let revision = try await store.secondFactor(userID: userID)?.revision ?? 0
        return try await store.replaceRecoveryCodes(userID: userID, digests: digests, ifRevision: revision)
    }

    /// A login's token for a user, expiring at `expiresAt`.
    static func loginChallenge(_ seed: String, userID: Int64, expiresAt: Date = t0 + 300) -> LoginChallenge {
        LoginChallenge(tokenDigest: digest(seed), userID: userID, passwordHash: "h", expiresAt: expiresAt)
    }

    /// Runs `body` from `count` tasks at once and returns what each returned.
    static func concurrently<T: Sendable>(
        _ count: Int, _ body: @escaping @Sendable () async throws -> T
    ) async -> [Result<T, any Error>] {
        await withTaskGroup(of: Result<T, any Error>.self) { group in
            for _ in 0..<count {
                group.addTask {
                    do { return .success(try await body()) } catch { return .failure(error) }
                }
            }
            return await group.reduce(into: []) { $0.append($1) }
        }
    }

    /// The errors among `outcomes`.
    static func failures<T>(_ outcomes: [Result<T, any Error>]) -> [any Error] {
        outcomes.compactMap { outcome in
            if case .failure(let error) = outcome { return error }
            return nil
        }
    }

    /// The checks of the second factor: the factor, its recovery codes, the tokens of logins
    /// waiting for a code, and the sessions' assurance level.
    func runSecondFactor(on store: any AdminStore) async throws {
        let ada = try await store.addUser(email: "ada@example.com", passwordHash: "h", createdAt: Self.t0)
        let bob = try await store.addUser(email: "bob@example.com", passwordHash: "h", createdAt: Self.t0)
        let (secret, codes) = (Self.bytes("sealed-secret"), (1...5).map { Self.bytes("code-\($0)") })
        switch self {
        case .pendingTOTPSecretRoundTrips:
            #expect(try await store.secondFactor(userID: ada.id) == nil)
            #expect(try await Self.pend(store, userID: ada.id, sealed: Self.bytes("first")))
            let first = SecondFactor(
                userID: ada.id, secret: nil, pendingSecret: Self.bytes("first"), lastStep: nil, recoveryCodesLeft: 0,
                revision: 1)
            #expect(try await store.secondFactor(userID: ada.id) == first)
            #expect(try await Self.pend(store, userID: ada.id, sealed: Self.bytes("second")))
            #expect(try await store.secondFactor(userID: ada.id)?.pendingSecret == Self.bytes("second"))
            // A pending secret is no second factor yet.
            #expect(try await store.findUser(by: .id(ada.id))?.secondFactorEnabled == false)
            #expect(try await store.secondFactor(userID: bob.id) == nil)
            await #expect(throws: StoreError.notFound) {
                _ = try await Self.pend(store, userID: ada.id + 99, sealed: Self.bytes("ghost"))
            }
            // While a factor is active, a new enrolment changes nothing.
            try await Self.activate(store, userID: bob.id, secret: secret)
            #expect(try await Self.pend(store, userID: bob.id, sealed: Self.bytes("other")) == false)
            let active = SecondFactor(
                userID: bob.id, secret: secret, pendingSecret: nil, lastStep: 100, recoveryCodesLeft: 0, revision: 2)
            #expect(try await store.secondFactor(userID: bob.id) == active)

        case .activateTOTPIsAllOrNothing:
            let current = Self.session("current", userID: ada.id)
            let other = Self.session("other", userID: ada.id)
            let expired = Self.session("expired", userID: ada.id, expiresAt: Self.t0 - 1)
            let bobs = Self.session("bob", userID: bob.id)
            for session in [current, other, expired, bobs] { try await Self.addSession(store, session) }
            #expect(try await Self.pend(store, userID: ada.id, sealed: secret))
            let renewed = Self.digest("renewed")
            // Another pending secret, another account's session, a gone session: nothing changes.
            for (pending, kept) in [
                (Self.bytes("stale"), current.tokenDigest), (secret, bobs.tokenDigest), (secret, Self.digest("gone")),
            ] {
                #expect(
                    try await store.activateTOTP(
                        userID: ada.id, pending: pending, step: 100, recoveryCodes: codes, keeping: kept, as: renewed)
                        == false)
            }
            #expect(try await store.secondFactor(userID: ada.id)?.isActive == false)
            #expect(try await store.consumeRecoveryCode(userID: ada.id, digests: codes) == nil)
            for session in [current, other, expired] {
                #expect(try await store.findSession(digest: session.tokenDigest)?.session == session)
            }
            #expect(try await store.findSession(digest: renewed) == nil)

            #expect(
                try await store.activateTOTP(
                    userID: ada.id, pending: secret, step: 100, recoveryCodes: codes, keeping: current.tokenDigest,
                    as: renewed))
            let factor = SecondFactor(
                userID: ada.id, secret: secret, pendingSecret: nil, lastStep: 100, recoveryCodesLeft: 5, revision: 2)
            #expect(try await store.secondFactor(userID: ada.id) == factor)
            var rekeyed = current
            rekeyed.tokenDigest = renewed
            rekeyed.aal = 2
            #expect(try await store.findSession(digest: renewed)?.session == rekeyed)
            for session in [current, other, expired] {
                #expect(try await store.findSession(digest: session.tokenDigest) == nil)
            }
            #expect(try await store.findSession(digest: bobs.tokenDigest)?.session.aal == 1)
            #expect(try await store.findUser(by: .id(ada.id))?.secondFactorEnabled == true)
            #expect(try await store.findUser(by: .email("ada@example.com"))?.secondFactorEnabled == true)
            #expect(try await store.findUser(by: .id(bob.id))?.secondFactorEnabled == false)
            let listed = try await store.listUsers(after: nil, limit: 10, now: Self.t0, idleCutoff: Self.t0 - 60)
            #expect(listed.map(\.secondFactorEnabled) == [true, false])
            // Once active, the same confirmation changes nothing.
            #expect(
                try await store.activateTOTP(
                    userID: ada.id, pending: secret, step: 101, recoveryCodes: [], keeping: renewed,
                    as: Self.digest("again")) == false)
            #expect(try await store.secondFactor(userID: ada.id) == factor)

        case .acceptTOTPStepOncePerStep:
            try await Self.activate(store, userID: ada.id, secret: secret, step: 100)
            // A pending secret accepts no code.
            #expect(try await Self.pend(store, userID: bob.id, sealed: secret))
            #expect(try await store.acceptTOTPStep(userID: bob.id, step: 101, secret: secret, resealed: nil) == false)
            #expect(try await store.acceptTOTPStep(userID: ada.id, step: 100, secret: secret, resealed: nil) == false)
            #expect(try await store.acceptTOTPStep(userID: ada.id, step: 101, secret: secret, resealed: nil))
            #expect(try await store.acceptTOTPStep(userID: ada.id, step: 101, secret: secret, resealed: nil) == false)
            #expect(try await store.acceptTOTPStep(userID: ada.id, step: 99, secret: secret, resealed: nil) == false)
            #expect(
                try await store.acceptTOTPStep(userID: ada.id, step: 110, secret: Self.bytes("wrong"), resealed: nil)
                    == false)
            #expect(try await store.secondFactor(userID: ada.id)?.lastStep == 101)
            let resealed = Self.bytes("resealed-secret")
            #expect(try await store.acceptTOTPStep(userID: ada.id, step: 105, secret: secret, resealed: resealed))
            let factor = try await store.secondFactor(userID: ada.id)
            #expect(factor?.secret == resealed && factor?.lastStep == 105)
            #expect(try await store.acceptTOTPStep(userID: ada.id, step: 106, secret: secret, resealed: nil) == false)
            #expect(try await store.acceptTOTPStep(userID: ada.id, step: 106, secret: resealed, resealed: nil))
            #expect(try await store.sampleTOTPSecrets(limit: 10).map(\.secret) == [resealed])

        case .concurrentTOTPStepsHaveOneWinner:
            try await Self.activate(store, userID: ada.id, secret: secret, step: 100)
            let outcomes = await Self.concurrently(20) {
                try await store.acceptTOTPStep(userID: ada.id, step: 200, secret: secret, resealed: nil)
            }
            #expect(outcomes.filter { (try? $0.get()) == true }.count == 1)
            #expect(Self.failures(outcomes).isEmpty, "\(outcomes)")
            #expect(try await store.secondFactor(userID: ada.id)?.lastStep == 200)

        case .recoveryCodesAreConsumedOnce:
            // Without an active factor, codes cannot be replaced.
            #expect(try await Self.replaceCodes(store, userID: ada.id, digests: codes) == false)
            #expect(try await Self.pend(store, userID: ada.id, sealed: secret))
            #expect(try await Self.replaceCodes(store, userID: ada.id, digests: codes) == false)
            #expect(try await store.consumeRecoveryCode(userID: ada.id, digests: [codes[0]]) == nil)
            try await Self.activate(store, userID: ada.id, secret: secret, codes: codes)
            try await Self.activate(store, userID: bob.id, secret: secret, codes: [Self.bytes("bob-code")])
            #expect(try await store.consumeRecoveryCode(userID: ada.id, digests: []) == nil)
            #expect(try await store.consumeRecoveryCode(userID: ada.id, digests: [Self.bytes("unknown")]) == nil)
            #expect(try await store.consumeRecoveryCode(userID: bob.id, digests: [codes[0]]) == nil)
            // One of the candidates matches (the code's digest under another key).
            #expect(try await store.consumeRecoveryCode(userID: ada.id, digests: [Self.bytes("x"), codes[1]]) == 4)
            #expect(try await store.consumeRecoveryCode(userID: ada.id, digests: [codes[1]]) == nil)
            let outcomes = await Self.concurrently(20) {
                try await store.consumeRecoveryCode(userID: ada.id, digests: [codes[2]])
            }
            #expect(Self.failures(outcomes).isEmpty, "\(outcomes)")
            // `try?` flattens: only the consumers that got a count remain.
            #expect(outcomes.compactMap { try? $0.get() } == [3])
            #expect(try await store.secondFactor(userID: ada.id)?.recoveryCodesLeft == 3)
            let fresh = [Self.bytes("fresh-1"), Self.bytes("fresh-2")]
            #expect(try await Self.replaceCodes(store, userID: ada.id, digests: fresh))
            #expect(try await store.consumeRecoveryCode(userID: ada.id, digests: [codes[0]]) == nil)
            #expect(try await store.secondFactor(userID: ada.id)?.recoveryCodesLeft == 2)
            #expect(try await store.consumeRecoveryCode(userID: ada.id, digests: [fresh[1]]) == 1)
            #expect(try await store.consumeRecoveryCode(userID: ada.id, digests: [fresh[0]]) == 0)
            #expect(try await store.secondFactor(userID: bob.id)?.recoveryCodesLeft == 1)

        case .deleteSecondFactorRemovesEverything:
            try await Self.activate(store, userID: ada.id, secret: secret, codes: codes)
            try await Self.activate(store, userID: bob.id, secret: secret, codes: codes)
            try await store.addLoginChallenge(Self.loginChallenge("ada-login", userID: ada.id))
            try await store.addLoginChallenge(Self.loginChallenge("bob-login", userID: bob.id))
            #expect(try await store.deleteSecondFactor(userID: ada.id))
            #expect(try await store.secondFactor(userID: ada.id) == nil)
            #expect(try await store.findUser(by: .id(ada.id))?.secondFactorEnabled == false)
            #expect(try await store.consumeRecoveryCode(userID: ada.id, digests: [codes[0]]) == nil)
            #expect(try await store.findLoginChallenge(digest: Self.digest("ada-login")) == nil)
            #expect(try await store.deleteSecondFactor(userID: ada.id) == false)
            // A pending enrolment goes too, and was no active factor.
            #expect(try await Self.pend(store, userID: ada.id, sealed: secret))
            #expect(try await store.deleteSecondFactor(userID: ada.id) == false)
            #expect(try await store.secondFactor(userID: ada.id) == nil)
            // The other account keeps everything.
            #expect(try await store.secondFactor(userID: bob.id)?.recoveryCodesLeft == 5)
            #expect(try await store.findLoginChallenge(digest: Self.digest("bob-login")) != nil)
            #expect(try await store.findUser(by: .id(bob.id))?.secondFactorEnabled == true)

        case .loginChallengesAreUsedOnceAndPurged:
            let live = Self.loginChallenge("live", userID: ada.id)
            let expired = Self.loginChallenge("expired", userID: ada.id, expiresAt: Self.t0 - 1)
            let expiring = Self.loginChallenge("expiring", userID: bob.id, expiresAt: Self.t0)
            for token in [live, expired, expiring] { try await store.addLoginChallenge(token) }
            #expect(try await store.findLoginChallenge(digest: live.tokenDigest) == live)
            #expect(try await store.findLoginChallenge(digest: expired.tokenDigest) == expired)
            #expect(try await store.findLoginChallenge(digest: Self.digest("unknown")) == nil)
            await #expect(throws: StoreError.notFound) {
                try await store.addLoginChallenge(Self.loginChallenge("ghost", userID: ada.id + 99))
            }
            let purged = try await store.purgeExpired(now: Self.t0, idleCutoff: Self.t0 - 3600)
            #expect(purged.loginChallenges == 2)
            #expect(try await store.findLoginChallenge(digest: expired.tokenDigest) == nil)
            #expect(try await store.findLoginChallenge(digest: expiring.tokenDigest) == nil)
            let outcomes = await Self.concurrently(20) {
                try await store.deleteLoginChallenge(digest: live.tokenDigest)
            }
            #expect(outcomes.filter { (try? $0.get()) == true }.count == 1)
            #expect(Self.failures(outcomes).isEmpty, "\(outcomes)")
            #expect(try await store.findLoginChallenge(digest: live.tokenDigest) == nil)
            #expect(try await store.deleteLoginChallenge(digest: live.tokenDigest) == false)

        case .deleteUserTakesTheSecondFactor:
            try await Self.activate(store, userID: ada.id, secret: Self.bytes("ada-secret"), codes: codes)
            try await Self.activate(store, userID: bob.id, secret: Self.bytes("bob-secret"), codes: codes)
            try await store.addLoginChallenge(Self.loginChallenge("ada-login", userID: ada.id))
            #expect(try await store.deleteUser(id: ada.id))
            #expect(try await store.secondFactor(userID: ada.id) == nil)
            #expect(try await store.consumeRecoveryCode(userID: ada.id, digests: [codes[0]]) == nil)
            #expect(try await store.findLoginChallenge(digest: Self.digest("ada-login")) == nil)
            let sample = try await store.sampleTOTPSecrets(limit: 10)
            #expect(sample.map(\.userID) == [bob.id] && sample.map(\.secret) == [Self.bytes("bob-secret")])
            #expect(try await store.secondFactor(userID: bob.id)?.recoveryCodesLeft == 5)

        case .sampleTOTPSecretsReturnsActiveOnes:
            let carol = try await store.addUser(email: "carol@example.com", passwordHash: "h", createdAt: Self.t0)
            let dan = try await store.addUser(email: "dan@example.com", passwordHash: "h", createdAt: Self.t0)
            for user in [ada, bob, carol] {
                try await Self.activate(store, userID: user.id, secret: Self.bytes("secret-\(user.id)"))
            }
            #expect(try await Self.pend(store, userID: dan.id, sealed: Self.bytes("pending")))
            let all = try await store.sampleTOTPSecrets(limit: 10)
            #expect(Set(all.map(\.userID)) == Set([ada.id, bob.id, carol.id]) && all.count == 3)
            #expect(all.allSatisfy { $0.secret == Self.bytes("secret-\($0.userID)") })
            #expect(try await store.sampleTOTPSecrets(limit: 2).count == 2)
            #expect(try await store.sampleTOTPSecrets(limit: 0).isEmpty)

        case .sessionAssuranceLevelRoundTrips:
            var strong = Self.session("strong", userID: ada.id)
            strong.aal = 2
            let weak = Self.session("weak", userID: ada.id, lastSeenAt: Self.t0 + 1)
            try await Self.addSession(store, strong)
            try await Self.addSession(store, weak)
            #expect(try await store.findSession(digest: strong.tokenDigest)?.session == strong)
            #expect(try await store.findSession(digest: weak.tokenDigest)?.session.aal == 1)
            let listed = try await store.listSessions(userID: ada.id, now: Self.t0, idleCutoff: Self.t0 - 60)
            #expect(listed.count == 2)
            #expect(listed.first { $0.tokenDigest == strong.tokenDigest }?.aal == 2)
            #expect(listed.first { $0.tokenDigest == weak.tokenDigest }?.aal == 1)
            var bulk = Self.session("bulk", userID: bob.id)
            bulk.aal = 2
            try await store.addSessions([bulk, Self.session("bulk-weak", userID: bob.id)])
            #expect(try await store.findSession(digest: bulk.tokenDigest)?.session == bulk)
            #expect(try await store.findSession(digest: Self.digest("bulk-weak"))?.session.aal == 1)
            // A password change re-keys the session and keeps its level.
            #expect(
                try await store.changePassword(
                    userID: ada.id, from: "h", to: "h2", keeping: strong.tokenDigest, as: Self.digest("strong-2"),
                    revoking: .passwordChange))
            #expect(try await store.findSession(digest: Self.digest("strong-2"))?.session.aal == 2)

        case .sessionNeedsTheSecondFactorOnceActive:
            // A login that checked its password before the factor became active gets no session
            // of level 1 after; one of level 2 is stored. Turning the factor off allows level 1.
            try await store.addLoginChallenge(Self.loginChallenge("before", userID: ada.id))
            try await Self.activate(store, userID: ada.id, secret: secret)
            #expect(try await store.findLoginChallenge(digest: Self.digest("before")) == nil)
            #expect(try await !store.addSession(Self.session("password-only", userID: ada.id), ifPasswordHash: "h"))
            #expect(try await store.findSession(digest: Self.digest("password-only")) == nil)
            var strong = Self.session("both-factors", userID: ada.id)
            strong.aal = 2
            #expect(try await store.addSession(strong, ifPasswordHash: "h"))
            #expect(try await store.addSession(Self.session("other-user", userID: bob.id), ifPasswordHash: "h"))
            #expect(try await store.deleteSecondFactor(userID: ada.id))
            #expect(try await store.addSession(Self.session("password-only", userID: ada.id), ifPasswordHash: "h"))

        case .secondFactorChangesNeedTheRevisionTheyBeganFrom:
            // An enrolment: from no factor, or from the revision read; never from another.
            #expect(
                try await store.setPendingTOTPSecret(userID: ada.id, sealed: Self.bytes("p"), ifRevision: 3) == false)
            #expect(try await store.secondFactor(userID: ada.id) == nil)
            let begun = await Self.concurrently(10) {
                try await store.setPendingTOTPSecret(userID: ada.id, sealed: Self.bytes("p"), ifRevision: nil)
            }
            #expect(Self.failures(begun).isEmpty, "\(begun)")
            #expect(begun.filter { (try? $0.get()) == true }.count == 1)
            #expect(try await store.secondFactor(userID: ada.id)?.revision == 1)
            #expect(try await store.setPendingTOTPSecret(userID: ada.id, sealed: secret, ifRevision: nil) == false)
            #expect(try await store.setPendingTOTPSecret(userID: ada.id, sealed: secret, ifRevision: 0) == false)
            #expect(try await store.secondFactor(userID: ada.id)?.pendingSecret == Self.bytes("p"))
            #expect(try await store.setPendingTOTPSecret(userID: ada.id, sealed: secret, ifRevision: 1))
            try await Self.addSession(store, Self.session("confirming", userID: ada.id))
            #expect(
                try await store.activateTOTP(
                    userID: ada.id, pending: secret, step: 100, recoveryCodes: codes,
                    keeping: Self.digest("confirming"), as: Self.digest("confirmed")))
            #expect(try await store.secondFactor(userID: ada.id)?.revision == 3)
            // Accepting a code or using a recovery code changes no revision.
            #expect(try await store.acceptTOTPStep(userID: ada.id, step: 101, secret: secret, resealed: nil))
            #expect(try await store.consumeRecoveryCode(userID: ada.id, digests: [codes[0]]) == 4)
            #expect(try await store.secondFactor(userID: ada.id)?.revision == 3)
            // New codes: of many replacements from one revision, one lands.
            let replaced = await Self.concurrently(10) {
                try await store.replaceRecoveryCodes(userID: ada.id, digests: [Self.bytes("new")], ifRevision: 3)
            }
            #expect(Self.failures(replaced).isEmpty, "\(replaced)")
            #expect(replaced.filter { (try? $0.get()) == true }.count == 1)
            #expect(try await store.secondFactor(userID: ada.id)?.revision == 4)
            #expect(try await store.replaceRecoveryCodes(userID: ada.id, digests: codes, ifRevision: 3) == false)
            #expect(try await store.consumeRecoveryCode(userID: ada.id, digests: [codes[1]]) == nil)
            #expect(try await store.secondFactor(userID: ada.id)?.recoveryCodesLeft == 1)
            // The removal: not from an older revision; from the current one, or by an operator.
            #expect(try await store.deleteSecondFactor(userID: ada.id, ifRevision: 3) == false)
            #expect(try await store.secondFactor(userID: ada.id)?.isActive == true)
            #expect(try await store.findUser(by: .id(ada.id))?.secondFactorEnabled == true)
            #expect(try await store.deleteSecondFactor(userID: ada.id, ifRevision: 4))
            #expect(try await store.secondFactor(userID: ada.id) == nil)
            try await Self.activate(store, userID: bob.id, secret: secret)
            #expect(try await store.deleteSecondFactor(userID: bob.id, ifRevision: nil))

        case .expiredLoginChallengesAreTakenOnce:
            let expired = [
                Self.loginChallenge("gone-1", userID: ada.id, expiresAt: Self.t0 - 1),
                Self.loginChallenge("gone-2", userID: bob.id, expiresAt: Self.t0),
            ]
            let live = Self.loginChallenge("live", userID: ada.id, expiresAt: Self.t0 + 1)
            for challenge in expired + [live] { try await store.addLoginChallenge(challenge) }
            let takers = await Self.concurrently(10) { try await store.takeExpiredLoginChallenges(now: Self.t0) }
            #expect(Self.failures(takers).isEmpty, "\(takers)")
            let taken = takers.flatMap { (try? $0.get()) ?? [] }
            #expect(Set(taken.map(\.tokenDigest)) == Set(expired.map(\.tokenDigest)) && taken.count == 2)
            #expect(taken.first { $0.tokenDigest == expired[1].tokenDigest } == expired[1])
            #expect(try await store.findLoginChallenge(digest: live.tokenDigest) == live)
            #expect(try await store.takeExpiredLoginChallenges(now: Self.t0).isEmpty)

        case .removingTheFactorBringsSessionsToLevelOne:
            let confirmed = try await Self.activate(store, userID: ada.id, secret: secret)
            var later = Self.session("later", userID: ada.id)
            later.aal = 2
            try await Self.addSession(store, later)
            var bobs = Self.session("bob", userID: bob.id)
            bobs.aal = 2
            try await Self.addSession(store, bobs)
            #expect(try await store.findSession(digest: confirmed)?.session.aal == 2)
            #expect(try await store.deleteSecondFactor(userID: ada.id))
            #expect(try await store.findSession(digest: confirmed)?.session.aal == 1)
            #expect(try await store.findSession(digest: later.tokenDigest)?.session.aal == 1)
            let listed = try await store.listSessions(userID: ada.id, now: Self.t0, idleCutoff: Self.t0 - 60)
            #expect(listed.count == 2 && listed.allSatisfy { $0.aal == 1 })
            #expect(try await store.findSession(digest: bobs.tokenDigest)?.session.aal == 2)

        default:
            Issue.record("\(self) is not a second-factor check")
        }
    }
}
