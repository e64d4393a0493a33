import Foundation

/// What a throttle counts, per normalised email (per user id for `secondFactor`).
public enum ThrottleScope: String, Sendable, CaseIterable {
    /// Failed logins (`POST /sessions`).
    case login
    /// Wrong reset tokens (`PUT /reset_password`).
    case resetToken = "reset_token"
    /// Reset tokens requested (`POST /reset_password`).
    case resetRequest = "reset_request"
    /// Verification tokens requested (`POST /verify_email`, and those sent out of band).
    case verificationRequest = "verification_request"
    /// Wrong second-factor codes, per account: the subject is the user id, not an email.
    case secondFactor = "mfa"
    /// `password_used_without_second_factor` notices sent, per account (the user id): one an hour.
    case secondFactorNotice = "mfa_notice"
    /// Notices written to the outbox, per event and address (the subject is the event's name, a
    /// space and the canonical address): one an hour.
    case notice
}

/// One throttle's row: a scope and the normalised email it counts for, registered or not (the
/// user id, in decimal, for `secondFactor`).
public struct ThrottleKey: Sendable, Hashable {
    /// What is counted.
    public var scope: ThrottleScope
    /// The normalised email (the user id for `secondFactor`).
    public var subject: String

    /// Creates a key.
    /// - Parameters:
    ///   - scope: What is counted.
    ///   - subject: The normalised email (the user id for `secondFactor`).
    public init(_ scope: ThrottleScope, _ subject: String) {
        self.scope = scope
        self.subject = subject
    }
}
