import Foundation

/// Something that happened to an account that its owner should hear of, out of band.
public enum AccountEvent: Sendable, Equatable {
    /// A reset token was issued for `email`; only its owner may see `token`.
    case passwordResetRequested(email: String, token: String, expiresAt: Date)
    /// Someone tried to register `email`, which already has an account.
    case registrationAttemptExistingAccount(email: String)
    /// The password of `email` was changed from one of its sessions, at `at`, from the client
    /// address `ip` with the agent `userAgent` (NIST SP 800-63B 6.1.2.3: the owner is told of
    /// changes to the account).
    case passwordChanged(email: String, at: Date, ip: String?, userAgent: String?)
    /// The password of `email` was reset with a reset token at `at`, from the client address `ip`
    /// with the agent `userAgent`.
    case passwordReset(email: String, at: Date, ip: String?, userAgent: String?)
    /// The account of `email` was deleted by its owner at `at`.
    case accountDeleted(email: String, at: Date)
    /// A verification token was issued for `email`; only its owner may see `token`.
    case emailVerificationRequested(email: String, token: String, expiresAt: Date)
    /// The account of `email` now has the address `newEmail` (told to the old address).
    case emailChanged(email: String, newEmail: String)
    /// A change to the address `email` was asked for; only its owner may see `token`, which
    /// completes it.
    case emailChangeRequested(email: String, token: String, expiresAt: Date)
    /// The account of `email` asked to move to `newEmail` (told to the current address, which is
    /// not asked to confirm).
    case emailChangeStarted(email: String, newEmail: String)
    /// A second factor became active on the account of `email` at `at`.
    case secondFactorEnabled(email: String, at: Date)
    /// The second factor of the account of `email` was removed at `at` (by its owner, or by an
    /// operator's `users mfa-reset`).
    case secondFactorDisabled(email: String, at: Date)
    /// A recovery code of the account of `email` was used at `at`; `left` unused ones remain.
    case recoveryCodeUsed(email: String, at: Date, left: Int)
    /// The right password of `email`, which has a second factor, was given at `at` by a login that
    /// then gave a wrong code, or no code before its challenge expired: someone may hold the
    /// password (laravel/fortify #239, vaultwarden #2067). At most one per account per hour.
    case passwordUsedWithoutSecondFactor(email: String, at: Date)

    /// The fields of the event's JSON besides `"event"` (times in RFC 3339; `nil` is `null`):
    /// what the webhook sends and the log writes.
    public var fields: [String: String?] {
        switch self {
        case .passwordResetRequested(let email, let token, let expiresAt):
            ["email": email, "reset_token": token, "expires_at": rfc3339(expiresAt)]
        case .registrationAttemptExistingAccount(let email):
            ["email": email]
        case .passwordChanged(let email, let at, let ip, let userAgent),
            .passwordReset(let email, let at, let ip, let userAgent):
            ["email": email, "at": rfc3339(at), "ip": ip, "user_agent": userAgent]
        case .accountDeleted(let email, let at):
            ["email": email, "at": rfc3339(at)]
        case .emailVerificationRequested(let email, let token, let expiresAt),
            .emailChangeRequested(let email, let token, let expiresAt):
            ["email": email, "verification_token": token, "expires_at": rfc3339(expiresAt)]
        case .emailChanged(let email, let newEmail), .emailChangeStarted(let email, let newEmail):
            ["email": email, "new_email": newEmail]
        case .secondFactorEnabled(let email, let at), .secondFactorDisabled(let email, let at),
            .passwordUsedWithoutSecondFactor(let email, let at):
            ["email": email, "at": rfc3339(at)]
        case .recoveryCodeUsed(let email, let at, let left):
            ["email": email, "at": rfc3339(at), "recovery_codes_left": String(left)]
        }
    }

    /// The address the event is about, which hears of it: the outbox row's recipient.
    public var recipient: String {
        switch self {
        case .passwordResetRequested(let email, _, _), .registrationAttemptExistingAccount(let email),
            .passwordChanged(let email, _, _, _), .passwordReset(let email, _, _, _), .accountDeleted(let email, _),
            .emailVerificationRequested(let email, _, _), .emailChanged(let email, _),
            .emailChangeRequested(let email, _, _), .emailChangeStarted(let email, _),
            .secondFactorEnabled(let email, _), .secondFactorDisabled(let email, _),
            .recoveryCodeUsed(let email, _, _), .passwordUsedWithoutSecondFactor(let email, _):
            email
        }
    }

    /// Whether the event carries a token (a reset or verification token): such a message is
    /// never sent without sealing, is dropped when its account is deleted, and is sent again by
    /// `latchkey outbox retry` with a new token rather than the old one. Every other event is a
    /// notice, at most one an hour per recipient and event.
    public var carriesToken: Bool {
        switch self {
        case .passwordResetRequested, .emailVerificationRequested, .emailChangeRequested: true
        default: false
        }
    }

    /// The exact JSON of the event: `"event"` and its fields, keys sorted, slashes unescaped;
    /// what the webhook sends as its body and the outbox keeps (sealed) as the payload.
    /// - Returns: The UTF-8 JSON bytes.
    public func json() -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        // A dictionary of optional strings always encodes.
        return (try? encoder.encode(fields.merging(["event": name]) { kept, _ in kept })) ?? Data("{}".utf8)
    }

    /// The event's name in its JSON (`"event"`) and in logs.
    public var name: String {
        switch self {
        case .passwordResetRequested: "password_reset_requested"
        case .registrationAttemptExistingAccount: "registration_attempt_existing_account"
        case .passwordChanged: "password_changed"
        case .passwordReset: "password_reset"
        case .accountDeleted: "account_deleted"
        case .emailVerificationRequested: "email_verification_requested"
        case .emailChanged: "email_changed"
        case .emailChangeRequested: "email_change_requested"
        case .emailChangeStarted: "email_change_started"
        case .secondFactorEnabled: "mfa_enabled"
        case .secondFactorDisabled: "mfa_disabled"
        case .recoveryCodeUsed: "recovery_code_used"
        case .passwordUsedWithoutSecondFactor: "password_used_without_second_factor"
        }
    }
}
