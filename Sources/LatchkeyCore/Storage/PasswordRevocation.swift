/// What a new password revokes, declared once here and applied by every store in the same
/// transaction as the new hash, so that no store can forget one: whoever knew the old password
/// may have started any of these (OWASP ASVS 5.0 7.4.3: sessions end on a password change;
/// NIST SP 800-63B section 6.1.2.3).
public struct PasswordRevocation: OptionSet, Sendable, Hashable {
    /// The bits of the set.
    public let rawValue: Int

    /// Creates a set from its bits.
    /// - Parameter rawValue: The bits.
    public init(rawValue: Int) {
        self.rawValue = rawValue
    }

    /// Every session of the account but the one making a change from a session (every one, for a
    /// reset).
    public static let sessions = PasswordRevocation(rawValue: 1 << 0)
    /// The account's pending reset token.
    public static let resetToken = PasswordRevocation(rawValue: 1 << 1)
    /// The account's pending verification token: a first verification, or an email change asked,
    /// perhaps, by whoever the new password locks out.
    public static let verificationToken = PasswordRevocation(rawValue: 1 << 2)
    /// The login challenges waiting for a code: they were bound to the old hash.
    public static let loginChallenges = PasswordRevocation(rawValue: 1 << 3)
    /// The address's pending claim (`PendingClaim`): once the mailbox is proven, a registration
    /// made before the proof can no longer become the password.
    public static let pendingClaim = PasswordRevocation(rawValue: 1 << 4)

    /// What a password change from a session revokes: the other sessions, the reset token, the
    /// verification token and the login challenges; the session that made the change stays, under
    /// a new token. Not the pending claim: a session proves no mailbox.
    public static let passwordChange: PasswordRevocation = [
        .sessions, .resetToken, .verificationToken, .loginChallenges,
    ]

    /// What a password reset with a token revokes, a proof of the mailbox: the reset token, the
    /// verification token, the login challenges and the pending claim, the sessions only when
    /// `endingSessions` (`RESET_ENDS_SESSIONS`: true in production, false in the development
    /// profile, as the original service kept them).
    /// - Parameter endingSessions: Whether the account's sessions end.
    /// - Returns: The set.
    public static func passwordReset(endingSessions: Bool) -> PasswordRevocation {
        proofOfMailbox(endingSessions: endingSessions)
    }

    /// What the proof of an account's mailbox with a password of the prover's choosing revokes
    /// (a reset by token, or a first verification with `password`): the pending reset token and
    /// address change, the login challenges, the pending claim, and the sessions only when
    /// `endingSessions` (`RESET_ENDS_SESSIONS`), so that nobody who knew another password stays
    /// in (whoever registered the address without owning it).
    /// - Parameter endingSessions: Whether the account's sessions end.
    /// - Returns: The set.
    public static func proofOfMailbox(endingSessions: Bool) -> PasswordRevocation {
        let kept: PasswordRevocation = [.resetToken, .verificationToken, .loginChallenges, .pendingClaim]
        return endingSessions ? kept.union(.sessions) : kept
    }
}
