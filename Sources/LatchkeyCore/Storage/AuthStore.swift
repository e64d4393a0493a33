import Foundation

/// The storage interface: the original service's DB class (add a user, find a user by one typed field,
/// update a user) plus what sessions and reset tokens need. It holds no rules; `Auth` does.
///
/// Every method throws only `StoreError`. Implementations keep emails as given (already
/// normalised by `Auth`) behind a unique index.
public protocol AuthStore: SecondFactorStore, OutboxStore {
    /// Adds a user.
    /// - Parameters:
    ///   - email: The normalised email.
    ///   - passwordHash: The bcrypt hash of the password.
    ///   - createdAt: The registration time.
    /// - Returns: The stored user with its identifier.
    /// - Throws: `StoreError.duplicateEmail` when the email exists.
    func addUser(email: String, passwordHash: String, createdAt: Date) async throws -> User

    /// Finds one user.
    /// - Parameter lookup: The field and value to search by.
    /// - Returns: The user, or `nil` when there is none.
    func findUser(by lookup: UserLookup) async throws -> User?

    /// Changes a user: the original service's `update_user`. The rules change a password
    /// through `replacePasswordHash` and `resetPassword`, which check what they replace; this
    /// stays as the general update of the DB interface the service reimplements, for operators
    /// and tests.
    /// - Parameters:
    ///   - id: The user to change.
    ///   - update: The fields to change.
    /// - Throws: `StoreError.notFound` when there is no such user.
    func updateUser(id: Int64, _ update: UserUpdate) async throws

    /// Stores a new session, but only while the user's password hash is still the one the
    /// login was checked against: a password reset that commits between the check and this
    /// call ends every session, and must end this one too. In the same step, when the user then
    /// holds more than `limit` sessions, the least recently used ones (by `last_seen_at`, then
    /// `created_at`) end, never the new one.
    ///
    /// With `event`, the login's activity entry is written in the same transaction as the
    /// session, so that a login costs one write; an entry the database refuses is lost alone and
    /// never undoes the session (a savepoint around the entry, or the session inserted again
    /// without it): recording never fails a login.
    /// - Parameters:
    ///   - session: The session, keyed by its token digest.
    ///   - passwordHash: The hash the password was verified against.
    ///   - limit: The most sessions the user keeps, the new one included (at least 1).
    ///   - event: The activity entry to record with it (`login_succeeded`), or `nil`.
    /// - Returns: Whether the session was stored (`false`: the password changed meanwhile, or
    ///   the user is gone; then nothing changed, and no entry was written), and whether the
    ///   entry was.
    func addSession(
        _ session: Session, ifPasswordHash passwordHash: String, keepingAtMost limit: Int,
        recording event: ActivityEvent?
    ) async throws -> SessionInsert

    /// Replaces a user's password hash only while it is still `old` (a rehash after login must
    /// not undo a reset that landed meanwhile).
    /// - Parameters:
    ///   - userID: The user.
    ///   - old: The hash the caller verified against.
    ///   - new: The replacement.
    /// - Returns: Whether the hash was replaced.
    func replacePasswordHash(userID: Int64, from old: String, to new: String) async throws -> Bool

    /// Finds a session and its user in one lookup of the session alone: a session carries its
    /// user's email, so the check costs the same however many users there are.
    /// - Parameter digest: The SHA-256 of the session token.
    /// - Returns: The session and its owner, or `nil` when there is no such session. The
    ///   session's `ip` and `userAgent` are not read (`nil`): the check does not need them; its
    ///   `aal` is. The user's `email` is read; nothing else about the user is needed.
    func findSession(digest: TokenDigest) async throws -> (session: Session, user: SessionUser)?

    /// Records that a session was used.
    /// - Parameters:
    ///   - digest: The session's token digest.
    ///   - lastSeenAt: The time of use.
    func touchSession(digest: TokenDigest, lastSeenAt: Date) async throws

    /// Removes one session.
    /// - Parameter digest: The session's token digest.
    /// - Returns: Whether a session was removed.
    @discardableResult
    func deleteSession(digest: TokenDigest) async throws -> Bool

    /// Removes every session of a user.
    /// - Parameter userID: The user whose sessions end.
    /// - Returns: The number of sessions removed.
    @discardableResult
    func deleteSessions(userID: Int64) async throws -> Int

    /// The live sessions of a user, newest first (by creation, then public identifier).
    /// - Parameters:
    ///   - userID: The user.
    ///   - now: Sessions expiring at or before this are not live.
    ///   - idleCutoff: Sessions last seen at or before this are not live.
    /// - Returns: The sessions.
    func listSessions(userID: Int64, now: Date, idleCutoff: Date) async throws -> [Session]

    /// Ends one live session of a user, named by its public identifier.
    /// - Parameters:
    ///   - userID: The user the session must belong to.
    ///   - publicID: The session's public identifier.
    ///   - now: A session expiring at or before this is not live.
    ///   - idleCutoff: A session last seen at or before this is not live.
    /// - Returns: Whether a live session of this user went.
    func deleteSession(userID: Int64, publicID: String, now: Date, idleCutoff: Date) async throws -> Bool

    /// Ends every live session of a user but one.
    /// - Parameters:
    ///   - userID: The user.
    ///   - digest: The token digest of the session that stays.
    ///   - now: Sessions expiring at or before this are not live (and are left to the purge).
    ///   - idleCutoff: Sessions last seen at or before this are not live.
    /// - Returns: How many live sessions went.
    func deleteSessions(userID: Int64, except digest: TokenDigest, now: Date, idleCutoff: Date) async throws -> Int

    /// Changes a password from a session, atomically: only while the user's hash is still `old`
    /// and the session `current` is still stored, replaces the hash, revokes what `revocation`
    /// names (`.sessions`: every session but `current`), and gives `current` the token digest
    /// `replacement`, keeping everything else about it.
    /// - Parameters:
    ///   - userID: The user.
    ///   - old: The hash the current password was verified against.
    ///   - new: The new hash.
    ///   - current: The token digest of the session making the change.
    ///   - replacement: The digest of the session's new token.
    ///   - revocation: What goes with the old password (`PasswordRevocation.passwordChange`).
    ///   - messages: The outbox messages that report the change, written with it.
    /// - Returns: Whether the password changed (`false`: the hash changed meanwhile, or the
    ///   session or the user is gone; then nothing changed and no message was written).
    func changePassword(
        userID: Int64, from old: String, to new: String, keeping current: TokenDigest, as replacement: TokenDigest,
        revoking revocation: PasswordRevocation, messages: [OutboxMessage]
    ) async throws -> Bool

    /// Deletes a user with their sessions, reset token and email-conflict listing, and drops
    /// their pending outbox messages that carry a token (a deleted account's token is useless,
    /// and its mailbox may have a new owner).
    /// - Parameters:
    ///   - id: The user.
    ///   - messages: The outbox messages that report the deletion, written with it.
    /// - Returns: Whether a user went (`false`: no message was written).
    func deleteUser(id: Int64, messages: [OutboxMessage]) async throws -> Bool

    /// Marks a user's address verified, or not.
    /// - Parameters:
    ///   - userID: The user.
    ///   - verified: The new state.
    /// - Returns: Whether there was such a user.
    func setEmailVerified(userID: Int64, _ verified: Bool) async throws -> Bool

    /// Stores a verification token for a user, replacing any earlier one.
    /// - Parameters:
    ///   - token: The token, keyed by its user.
    ///   - messages: The outbox messages that carry or report it, written with it.
    /// - Throws: `StoreError.notFound` when the user is gone (then nothing is written).
    func setVerificationToken(_ token: VerificationToken, messages: [OutboxMessage]) async throws

    /// Finds a pending verification token by its digest.
    /// - Parameter digest: The SHA-256 of the token as sent.
    /// - Returns: The token, or `nil` when there is none.
    func findVerificationToken(digest: TokenDigest) async throws -> VerificationToken?

    /// Uses a verification token atomically: only while it is still its user's current,
    /// unexpired one, it is deleted and the user's address becomes `token.email`, verified (for
    /// the user's own address, only the verification). Sessions keep going, and carry the new
    /// address; a change of address drops the pending claim of the old one.
    ///
    /// The first proof of the user's own address (it is not verified yet) also settles the
    /// address's pending claim (`PendingClaim`): with `proof`, the user takes its password hash
    /// and what it revokes goes, in the same step; without, while a claim that expires after
    /// `now` is stored, nothing changes (`.claimPending`) and the token stays.
    /// - Parameters:
    ///   - token: The token as `findVerificationToken(digest:)` returned it.
    ///   - now: The current time, to refuse a token that expired meanwhile.
    ///   - proof: The password the prover chose, for the first proof of the own address; ignored
    ///     for a change of address or an address verified already.
    ///   - messages: The outbox messages that report a change of address, written only when the
    ///     address changes (`.changed`).
    /// - Returns: What happened (`taken` when another account has the new address: then nothing
    ///   changed).
    func consumeVerificationToken(
        _ token: VerificationToken, now: Date, proving proof: MailboxProof?, messages: [OutboxMessage]
    ) async throws -> VerificationResult

    /// Stores the pending claim of a user's address, replacing an earlier one, only while the
    /// address is not verified.
    /// - Parameter claim: The claim, keyed by its user.
    /// - Returns: Whether it was stored (`false`: the address is verified or the user is gone;
    ///   nothing changed).
    func setPendingClaim(_ claim: PendingClaim) async throws -> Bool

    /// The pending claim of a user's address, expired or not.
    /// - Parameter userID: The user.
    /// - Returns: The claim, or `nil` when there is none.
    func pendingClaim(userID: Int64) async throws -> PendingClaim?

    /// Records one entry of a user's security activity.
    /// - Parameter event: The entry.
    /// - Throws: `StoreError.notFound` when the user is gone.
    func addActivity(_ event: ActivityEvent) async throws

    /// A user's most recent security activity, newest first.
    /// - Parameters:
    ///   - userID: The user.
    ///   - limit: The most entries returned.
    /// - Returns: The entries.
    func listActivity(userID: Int64, limit: Int) async throws -> [ActivityEvent]

    /// What an account's own page shows, read together (`AccountOverviewRecord`): the user, its
    /// active second factor, its live sessions and its newest activity.
    /// - Parameters:
    ///   - userID: The user.
    ///   - now: Sessions expiring at or before this are not live.
    ///   - idleCutoff: Sessions last seen at or before this are not live.
    ///   - activityLimit: The most activity entries returned.
    /// - Returns: The record, or `nil` when the user is gone.
    func accountOverview(
        userID: Int64, now: Date, idleCutoff: Date, activityLimit: Int
    ) async throws -> AccountOverviewRecord?

    /// Removes activity older than a time, every user's.
    /// - Parameter before: Entries at or before this time go.
    /// - Returns: How many went.
    func purgeActivity(before: Date) async throws -> Int

    /// Stores a reset token for a user, replacing any earlier one.
    /// - Parameters:
    ///   - token: The token, keyed by its user.
    ///   - messages: The outbox messages that carry it, written with it.
    func setResetToken(_ token: ResetToken, messages: [OutboxMessage]) async throws

    /// Finds the pending reset token of a user.
    /// - Parameter userID: The user.
    /// - Returns: The token, or `nil` when there is none.
    func findResetToken(userID: Int64) async throws -> ResetToken?

    /// Completes a password reset atomically: consumes the token if it is still the user's
    /// current, unexpired one, stores the new hash, and revokes what `revocation` names
    /// (`.sessions`: every session of the user).
    /// - Parameters:
    ///   - userID: The user.
    ///   - digest: The digest of the presented token.
    ///   - passwordHash: The new password hash.
    ///   - now: The current time, to reject a token that expired meanwhile.
    ///   - revocation: What goes with the old password (`PasswordRevocation.passwordReset`).
    ///   - messages: The outbox messages that report the reset, written only when it happens.
    /// - Returns: Whether the token was valid and the password changed.
    func resetPassword(
        userID: Int64, digest: TokenDigest, passwordHash: String, now: Date, revoking revocation: PasswordRevocation,
        messages: [OutboxMessage]
    ) async throws -> Bool

    /// Removes expired sessions, reset tokens, verification tokens, second-factor login tokens
    /// and pending claims.
    /// - Parameters:
    ///   - now: The current time.
    ///   - idleCutoff: Sessions last seen before this time are idle-expired.
    /// - Returns: What was removed.
    func purgeExpired(now: Date, idleCutoff: Date) async throws -> PurgeResult

    /// Reads, changes and writes a throttle record atomically, so that every node counts into
    /// the same row: concurrent updates of one key apply one after the other.
    /// - Parameters:
    ///   - key: The scope and normalised email.
    ///   - update: The change: given the stored record (or `nil`), the record to store (or
    ///     `nil` to delete it).
    /// - Returns: The stored record after the change.
    @discardableResult
    func updateThrottleRecord(
        _ key: ThrottleKey, _ update: @escaping @Sendable (ThrottleRecord?) -> ThrottleRecord?
    ) async throws -> ThrottleRecord?

    /// Deletes throttle records whose last event is at or before `lastBefore` and whose wait,
    /// if any, has ended by `now`.
    /// - Parameters:
    ///   - lastBefore: The cutoff for the last failure or request.
    ///   - now: The current time.
    /// - Returns: How many went.
    func purgeThrottles(lastBefore: Date, now: Date) async throws -> Int

    /// Whether stored accounts that share this canonical address are listed as email conflicts
    /// (`EmailConflict`): then the address names no single account.
    /// - Parameter canonical: A canonical address.
    /// - Returns: `true` when it is listed.
    func hasEmailConflict(canonical: String) async throws -> Bool

    /// Whether an account is listed among the email conflicts (it keeps its old address).
    /// - Parameter userID: The account.
    /// - Returns: `true` when it is listed.
    func hasEmailConflict(userID: Int64) async throws -> Bool

    /// Returns when the database answers a trivial query, for readiness checks.
    /// - Throws: `StoreError.unavailable` when it does not.
    func checkAvailable() async throws
}

/// What `AuthStore.addSession(_:ifPasswordHash:keepingAtMost:recording:)` did.
public struct SessionInsert: Sendable, Equatable {
    /// Whether the session was stored.
    public var stored: Bool
    /// Whether the activity entry given with it was stored too (`false` without one).
    public var activityRecorded: Bool

    /// Creates the outcome.
    /// - Parameters:
    ///   - stored: Whether the session was stored.
    ///   - activityRecorded: Whether the activity entry was.
    public init(stored: Bool, activityRecorded: Bool) {
        self.stored = stored
        self.activityRecorded = activityRecorded
    }

    /// The session refused: nothing was written.
    public static let refused = SessionInsert(stored: false, activityRecorded: false)
}
