import Foundation

/// The shorter forms of `AuthStore` operations: no message, no password, no cap.
extension AuthStore {
    /// Uses a verification token with no password chosen
    /// (`consumeVerificationToken(_:now:proving:)` with `nil`).
    /// - Parameters:
    ///   - token: The token as `findVerificationToken(digest:)` returned it.
    ///   - now: The current time.
    /// - Returns: What happened.
    public func consumeVerificationToken(_ token: VerificationToken, now: Date) async throws -> VerificationResult {
        try await consumeVerificationToken(token, now: now, proving: nil, messages: [])
    }

    /// Uses a verification token, writing no message (`consumeVerificationToken(_:now:proving:messages:)`).
    /// - Parameters:
    ///   - token: The token as `findVerificationToken(digest:)` returned it.
    ///   - now: The current time.
    ///   - proof: The password the prover chose, if any.
    /// - Returns: What happened.
    public func consumeVerificationToken(_ token: VerificationToken, now: Date, proving proof: MailboxProof?)
        async throws -> VerificationResult
    {
        try await consumeVerificationToken(token, now: now, proving: proof, messages: [])
    }

    /// Stores a verification token with no message (`setVerificationToken(_:messages:)`).
    /// - Parameter token: The token, keyed by its user.
    public func setVerificationToken(_ token: VerificationToken) async throws {
        try await setVerificationToken(token, messages: [])
    }

    /// Stores a reset token with no message (`setResetToken(_:messages:)`).
    /// - Parameter token: The token, keyed by its user.
    public func setResetToken(_ token: ResetToken) async throws {
        try await setResetToken(token, messages: [])
    }

    /// Deletes a user, writing no message (`deleteUser(id:messages:)`).
    /// - Parameter id: The user.
    /// - Returns: Whether a user went.
    public func deleteUser(id: Int64) async throws -> Bool {
        try await deleteUser(id: id, messages: [])
    }

    /// Changes a password, writing no message
    /// (`changePassword(userID:from:to:keeping:as:revoking:messages:)`).
    /// - Parameters:
    ///   - userID: The user.
    ///   - old: The hash the current password was verified against.
    ///   - new: The new hash.
    ///   - current: The token digest of the session making the change.
    ///   - replacement: The digest of the session's new token.
    ///   - revocation: What goes with the old password.
    /// - Returns: Whether the password changed.
    public func changePassword(
        userID: Int64, from old: String, to new: String, keeping current: TokenDigest, as replacement: TokenDigest,
        revoking revocation: PasswordRevocation
    ) async throws -> Bool {
        try await changePassword(
            userID: userID, from: old, to: new, keeping: current, as: replacement, revoking: revocation, messages: [])
    }

    /// Stores a new session, recording nothing with it
    /// (`addSession(_:ifPasswordHash:keepingAtMost:recording:)`).
    /// - Parameters:
    ///   - session: The session, keyed by its token digest.
    ///   - passwordHash: The hash the password was verified against.
    ///   - limit: The most sessions the user keeps, the new one included (at least 1).
    /// - Returns: Whether the session was stored.
    public func addSession(_ session: Session, ifPasswordHash passwordHash: String, keepingAtMost limit: Int)
        async throws -> Bool
    {
        try await addSession(session, ifPasswordHash: passwordHash, keepingAtMost: limit, recording: nil).stored
    }

    /// Stores a new session, without a cap on the user's sessions (`addSession(_:ifPasswordHash:keepingAtMost:)`).
    /// - Parameters:
    ///   - session: The session, keyed by its token digest.
    ///   - passwordHash: The hash the password was verified against.
    /// - Returns: Whether the session was stored.
    public func addSession(_ session: Session, ifPasswordHash passwordHash: String) async throws -> Bool {
        try await addSession(session, ifPasswordHash: passwordHash, keepingAtMost: .max)
    }

    /// Completes a password reset that ends every session of the user
    /// (`resetPassword(userID:digest:passwordHash:now:revoking:)`).
    /// - Parameters:
    ///   - userID: The user.
    ///   - digest: The digest of the presented token.
    ///   - passwordHash: The new password hash.
    ///   - now: The current time.
    /// - Returns: Whether the token was valid and the password changed.
    public func resetPassword(userID: Int64, digest: TokenDigest, passwordHash: String, now: Date) async throws -> Bool
    {
        try await resetPassword(
            userID: userID, digest: digest, passwordHash: passwordHash, now: now,
            revoking: .passwordReset(endingSessions: true), messages: [])
    }

    /// Completes a password reset, writing no message
    /// (`resetPassword(userID:digest:passwordHash:now:revoking:messages:)`).
    /// - Parameters:
    ///   - userID: The user.
    ///   - digest: The digest of the presented token.
    ///   - passwordHash: The new password hash.
    ///   - now: The current time.
    ///   - revocation: What goes with the old password.
    /// - Returns: Whether the token was valid and the password changed.
    public func resetPassword(
        userID: Int64, digest: TokenDigest, passwordHash: String, now: Date, revoking revocation: PasswordRevocation
    ) async throws -> Bool {
        try await resetPassword(
            userID: userID, digest: digest, passwordHash: passwordHash, now: now, revoking: revocation, messages: [])
    }
}
