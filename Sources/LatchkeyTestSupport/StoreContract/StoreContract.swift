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
    case resetPasswordCanKeepSessionsButNotLoginTokens
    case resetPasswordRefusesWrongOrExpiredToken
    case sessionNeedsTheCheckedPasswordHash
    case purgeRemovesOnlyExpired
    case nulInTextIsInvalidValue
    case addressesCompareAsBytes
    case renameUserMovesTheAddress
    case throttleRecordsRoundTrip
    case pendingAttemptsRoundTrip
    case concurrentReservationsNeverExceedTheLimit
    case concurrentThrottleUpdatesAllCount
    case purgeRemovesOnlyQuietThrottles
    case listUsersPagesByEmailAndCountsLiveSessions
    case deleteUserTakesSessionsAndResetToken
    case addUsersSkipsTakenEmails
    case addSessionsInBulk
    case listSessionsShowsLiveOnesNewestFirst
    case deleteSessionByPublicIDTakesOnlyThatLiveSession
    case deleteSessionsExceptOneKeepsIt
    case addSessionEndsTheLeastRecentlyUsedBeyondTheCap
    case changePasswordIsAllOrNothing
    case activityRoundTripsNewestFirst
    case accountOverviewReadsWhatTheSeparateReadsRead
    case purgeActivityRemovesOnlyOldEntries
    case verificationTokensRoundTripAndReplace
    case verificationVerifiesTheOwnAddressOnce
    case verificationChangesTheAddressUnlessTaken
    case passwordChangesAndRenamesDropAPendingVerification
    case pendingClaimsAreKeptForUnverifiedAddressesOnly
    case firstProofSettlesThePendingClaim
    case pendingTOTPSecretRoundTrips
    case activateTOTPIsAllOrNothing
    case acceptTOTPStepOncePerStep
    case concurrentTOTPStepsHaveOneWinner
    case recoveryCodesAreConsumedOnce
    case deleteSecondFactorRemovesEverything
    case loginChallengesAreUsedOnceAndPurged
    case deleteUserTakesTheSecondFactor
    case sampleTOTPSecretsReturnsActiveOnes
    case sessionAssuranceLevelRoundTrips
    case sessionNeedsTheSecondFactorOnceActive
    case secondFactorChangesNeedTheRevisionTheyBeganFrom
    case removingTheFactorBringsSessionsToLevelOne
    case stepUpRaisesOnlyALiveSessionOfAnAccountWithAFactor
    case expiredLoginChallengesAreTakenOnce
    case newPasswordsRevokeExactlyWhatIsDeclared
    case addSessionRecordsTheLoginWithIt
    case messagesCommitWithTheirChangeOnly
    case claimsLeaseAndSettleMessages
    case concurrentClaimsNeverShareARow
    case purgeRemovesOnlyEndedMessages

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
        case .addAndFindUser, .duplicateEmailIsTyped, .concurrentDuplicatesHaveOneWinner, .unknownUserIsNil,
            .updateUserChangesHash, .nulInTextIsInvalidValue,
            .addressesCompareAsBytes:
            try await runUsers(on: store)
        case .sessionsRoundTrip, .deleteSessionEndsOnlyThatSession, .deleteSessionsEndsAllOfOneUser,
            .sessionNeedsTheCheckedPasswordHash, .purgeRemovesOnlyExpired:
            try await runSessions(on: store)
        case .newerResetTokenReplacesOlder, .resetPasswordIsSingleUseAndEndsSessions,
            .resetPasswordCanKeepSessionsButNotLoginTokens, .resetPasswordRefusesWrongOrExpiredToken:
            try await runResetTokens(on: store)
        case .throttleRecordsRoundTrip, .pendingAttemptsRoundTrip, .concurrentReservationsNeverExceedTheLimit,
            .concurrentThrottleUpdatesAllCount,
            .purgeRemovesOnlyQuietThrottles:
            try await runThrottles(on: store)
        case .listUsersPagesByEmailAndCountsLiveSessions, .deleteUserTakesSessionsAndResetToken,
            .addUsersSkipsTakenEmails, .addSessionsInBulk, .renameUserMovesTheAddress:
            try await runAdmin(on: store)
        case .listSessionsShowsLiveOnesNewestFirst, .deleteSessionByPublicIDTakesOnlyThatLiveSession,
            .deleteSessionsExceptOneKeepsIt, .addSessionEndsTheLeastRecentlyUsedBeyondTheCap,
            .changePasswordIsAllOrNothing:
            try await runAccountSessions(on: store)
        case .activityRoundTripsNewestFirst, .purgeActivityRemovesOnlyOldEntries,
            .accountOverviewReadsWhatTheSeparateReadsRead:
            try await runActivity(on: store)
        case .verificationTokensRoundTripAndReplace, .verificationVerifiesTheOwnAddressOnce,
            .verificationChangesTheAddressUnlessTaken, .passwordChangesAndRenamesDropAPendingVerification,
            .pendingClaimsAreKeptForUnverifiedAddressesOnly, .firstProofSettlesThePendingClaim:
            try await runVerification(on: store)
        case .pendingTOTPSecretRoundTrips, .activateTOTPIsAllOrNothing, .acceptTOTPStepOncePerStep,
            .concurrentTOTPStepsHaveOneWinner, .recoveryCodesAreConsumedOnce, .deleteSecondFactorRemovesEverything,
            .loginChallengesAreUsedOnceAndPurged, .deleteUserTakesTheSecondFactor, .sampleTOTPSecretsReturnsActiveOnes,
            .sessionAssuranceLevelRoundTrips, .sessionNeedsTheSecondFactorOnceActive,
            .secondFactorChangesNeedTheRevisionTheyBeganFrom, .removingTheFactorBringsSessionsToLevelOne,
            .expiredLoginChallengesAreTakenOnce:
            try await runSecondFactor(on: store)
        case .newPasswordsRevokeExactlyWhatIsDeclared, .addSessionRecordsTheLoginWithIt:
            try await runRevocation(on: store)
        case .stepUpRaisesOnlyALiveSessionOfAnAccountWithAFactor:
            try await runStepUp(on: store)
        case .messagesCommitWithTheirChangeOnly, .claimsLeaseAndSettleMessages, .concurrentClaimsNeverShareARow,
            .purgeRemovesOnlyEndedMessages:
            try await runOutbox(on: store)
        }
    }
}
