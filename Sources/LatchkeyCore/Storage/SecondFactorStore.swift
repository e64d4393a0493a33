import Foundation

/// What the second factor needs from storage: the TOTP factor, recovery codes and the tokens of
/// logins waiting for a code. `AuthStore` includes it. Every method throws only `StoreError`.
///
/// Sealed secrets and recovery-code digests are opaque bytes to a store: it compares them for
/// equality only.
public protocol SecondFactorStore: Sendable {
    /// A user's second factor.
    /// - Parameter userID: The user.
    /// - Returns: The factor (with the count of unused recovery codes), or `nil` when the user has
    ///   neither an active nor a pending one.
    func secondFactor(userID: Int64) async throws -> SecondFactor?

    /// Stores the secret of a new enrolment, replacing any pending one, only while no factor is
    /// active and the factor's revision is still `revision` (`nil`: no factor was stored); the
    /// revision then grows by one.
    /// - Parameters:
    ///   - userID: The user.
    ///   - sealed: The sealed secret.
    ///   - revision: The revision the caller read (`SecondFactor.revision`), or `nil` when it read
    ///     no factor.
    /// - Returns: `false` when a factor is active or the revision moved (then nothing changed).
    /// - Throws: `StoreError.notFound` when the user is gone.
    func setPendingTOTPSecret(userID: Int64, sealed: Data, ifRevision revision: Int64?) async throws -> Bool

    /// Confirms an enrolment, atomically: only while the user's pending secret is still `pending`
    /// and no factor is active, the pending secret becomes the active one (its revision grows by
    /// one) with `lastStep` =
    /// `step`, the recovery codes become `recoveryCodes`, every other session of the user ends,
    /// and the session `current` gets the token digest `replacement` and `aal` 2 (keeping
    /// everything else about it).
    /// - Parameters:
    ///   - userID: The user.
    ///   - pending: The sealed pending secret the code was checked against.
    ///   - step: The step of the code that confirmed it.
    ///   - recoveryCodes: The digests of the new recovery codes.
    ///   - current: The token digest of the session confirming.
    ///   - replacement: The digest of that session's new token.
    ///   - messages: The outbox messages that report it, written only when it becomes active.
    /// - Returns: Whether the factor became active (`false`: nothing changed).
    func activateTOTP(
        userID: Int64, pending: Data, step: Int64, recoveryCodes: [Data], keeping current: TokenDigest,
        as replacement: TokenDigest, messages: [OutboxMessage]
    ) async throws -> Bool

    /// Raises a session to assurance level 2 under a new token (step-up, OWASP ASVS 5.0 7.2.4):
    /// only while the session is the user's and the user's factor is active; its id, times and
    /// expiry stay.
    /// - Parameters:
    ///   - userID: The user.
    ///   - current: The token digest of the session stepping up.
    ///   - replacement: The digest of that session's new token.
    /// - Returns: Whether the session was raised (`false`: it ended, or the factor is gone).
    func stepUpSession(userID: Int64, keeping current: TokenDigest, as replacement: TokenDigest) async throws -> Bool

    /// Records an accepted code's step: only while the user's active secret is still `secret`
    /// and its `lastStep` is `nil` or below `step` (so that each step is accepted once, however
    /// many requests race). `resealed`, when given, replaces the stored secret in the same step
    /// (a secret sealed under an older key, sealed again under the current one).
    /// - Parameters:
    ///   - userID: The user.
    ///   - step: The step the code matched.
    ///   - secret: The sealed secret the code was checked against.
    ///   - resealed: The secret to store instead, or `nil` to keep it.
    /// - Returns: Whether the step was accepted.
    func acceptTOTPStep(userID: Int64, step: Int64, secret: Data, resealed: Data?) async throws -> Bool

    /// Uses one recovery code: removes the first stored code of the user equal to one of
    /// `digests` (the code's digest under each key the server holds).
    /// - Parameters:
    ///   - userID: The user.
    ///   - digests: The candidate digests.
    ///   - messages: The outbox messages that report the use, written only when a code matched.
    /// - Returns: How many unused codes are left, or `nil` when none matched (then nothing
    ///   changed).
    func consumeRecoveryCode(userID: Int64, digests: [Data], messages: [OutboxMessage]) async throws -> Int?

    /// Replaces every recovery code of a user, only while a factor is active and its revision is
    /// still `revision`; the revision then grows by one, so that of two replacements begun from
    /// the same state only one lands.
    /// - Parameters:
    ///   - userID: The user.
    ///   - digests: The new codes' digests.
    ///   - revision: The revision the caller read.
    /// - Returns: Whether they were replaced (`false`: no active factor, or the revision moved;
    ///   nothing changed).
    func replaceRecoveryCodes(userID: Int64, digests: [Data], ifRevision revision: Int64) async throws -> Bool

    /// Removes a user's second factor: the active and pending secrets, the recovery codes and the
    /// tokens of logins waiting for a code; every session of the user drops to `aal` 1 in the same
    /// step, so that a proxy asking for level 2 no longer lets a session made with the factor
    /// through once the factor is gone.
    /// With `revision`, only while the factor's revision is still that one (otherwise nothing
    /// changes); with `nil` (an operator's reset), whatever it is.
    /// - Parameters:
    ///   - userID: The user.
    ///   - revision: The revision the caller read, or `nil` for any.
    ///   - messages: The outbox messages that report it, written only when an active factor went.
    /// - Returns: Whether an active factor went.
    func deleteSecondFactor(userID: Int64, ifRevision revision: Int64?, messages: [OutboxMessage]) async throws
        -> Bool

    /// Stores the token of a login waiting for its code.
    /// - Parameter token: The token.
    /// - Throws: `StoreError.notFound` when the user is gone.
    func addLoginChallenge(_ token: LoginChallenge) async throws

    /// Finds the token of a login waiting for its code.
    /// - Parameter digest: The SHA-256 of the token as sent.
    /// - Returns: The token (expired or not), or `nil`.
    func findLoginChallenge(digest: TokenDigest) async throws -> LoginChallenge?

    /// Removes the login challenges that expired at or before `now` and returns them, so that
    /// each is handed to one caller only, whichever node asks (the owner is told of a login that
    /// gave the right password and never a code).
    /// - Parameter now: The current time.
    /// - Returns: The challenges removed.
    func takeExpiredLoginChallenges(now: Date) async throws -> [LoginChallenge]

    /// Uses a login's token up.
    /// - Parameter digest: The SHA-256 of the token.
    /// - Returns: Whether it was still stored (only one caller gets `true`).
    func deleteLoginChallenge(digest: TokenDigest) async throws -> Bool

    /// Some active sealed secrets, for the start-up check that the configured keys open them. It
    /// works before a store's services run (PostgreSQL answers it on a connection of its own).
    /// - Parameter limit: The most returned.
    /// - Returns: Pairs of user id and sealed secret.
    func sampleTOTPSecrets(limit: Int) async throws -> [(userID: Int64, secret: Data)]
}

extension SecondFactorStore {
    /// Removes a user's second factor whatever its revision (an operator's reset):
    /// `deleteSecondFactor(userID:ifRevision:)` with `nil`.
    /// - Parameter userID: The user.
    /// - Returns: Whether an active factor went.
    public func deleteSecondFactor(userID: Int64) async throws -> Bool {
        try await deleteSecondFactor(userID: userID, ifRevision: nil, messages: [])
    }

    /// Removes a user's second factor, writing no message
    /// (`deleteSecondFactor(userID:ifRevision:messages:)`).
    /// - Parameters:
    ///   - userID: The user.
    ///   - revision: The revision the caller read, or `nil` for any.
    /// - Returns: Whether an active factor went.
    public func deleteSecondFactor(userID: Int64, ifRevision revision: Int64?) async throws -> Bool {
        try await deleteSecondFactor(userID: userID, ifRevision: revision, messages: [])
    }

    /// Uses one recovery code, writing no message (`consumeRecoveryCode(userID:digests:messages:)`).
    /// - Parameters:
    ///   - userID: The user.
    ///   - digests: The candidate digests.
    /// - Returns: How many unused codes are left, or `nil` when none matched.
    public func consumeRecoveryCode(userID: Int64, digests: [Data]) async throws -> Int? {
        try await consumeRecoveryCode(userID: userID, digests: digests, messages: [])
    }

    /// Confirms a pending enrolment, writing no message
    /// (`activateTOTP(userID:pending:step:recoveryCodes:keeping:as:messages:)`).
    /// - Parameters:
    ///   - userID: The user.
    ///   - pending: The sealed pending secret the code was checked against.
    ///   - step: The step of the code that confirmed it.
    ///   - recoveryCodes: The digests of the new recovery codes.
    ///   - current: The token digest of the session confirming.
    ///   - replacement: The digest of that session's new token.
    /// - Returns: Whether the factor became active.
    public func activateTOTP(
        userID: Int64, pending: Data, step: Int64, recoveryCodes: [Data], keeping current: TokenDigest,
        as replacement: TokenDigest
    ) async throws -> Bool {
        try await activateTOTP(
            userID: userID, pending: pending, step: step, recoveryCodes: recoveryCodes, keeping: current,
            as: replacement, messages: [])
    }
}
