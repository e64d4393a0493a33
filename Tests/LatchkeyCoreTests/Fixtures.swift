import Foundation
import LatchkeyTestSupport
import NIOCore
import Synchronization
import Testing

@testable import LatchkeyCore

/// A clock the tests move by hand.
final class TestClock: Sendable {
    private let current = Mutex(Date(timeIntervalSince1970: 1_800_000_000))

    var now: Date { current.withLock { $0 } }

    func advance(by seconds: TimeInterval) {
        current.withLock { $0 = $0.addingTimeInterval(seconds) }
    }
}

/// Wraps a hasher and records the hashes it verifies against.
actor RecordingHasher: PasswordHasher {
    let inner: BcryptPasswordHasher
    private(set) var verifiedHashes: [String] = []

    init(inner: BcryptPasswordHasher) {
        self.inner = inner
    }

    func hash(_ password: String) async throws -> String {
        try await inner.hash(password)
    }

    func verify(_ password: String, against hash: String) async throws -> Bool {
        verifiedHashes.append(hash)
        return try await inner.verify(password, against: hash)
    }

    nonisolated func needsRehash(_ hash: String) -> Bool {
        inner.needsRehash(hash)
    }
}

struct Fixture {
    let store = InMemoryStore()
    let hasher = FastHasher()
    let clock = TestClock()
    /// The events Core wrote to the outbox, opened.
    let notifier: OutboxRecorder
    /// What the rules logged: kept, not printed, so that a test of a failure prints no error.
    let log = CapturedLog()
    let auth: Auth

    init(policy: AuthPolicy = AuthPolicy()) async throws {
        let clock = self.clock
        var policy = policy
        // Out-of-band tokens are sealed in the outbox: a server always has a key for them (a
        // development key file; production refuses to start without one).
        if policy.tokenDelivery.isOutOfBand, policy.secondFactorKeyring == nil {
            policy.secondFactorKeyring = try SecondFactorKeyring(current: Data(repeating: 7, count: 32))
        }
        notifier = OutboxRecorder(store: store, keyring: policy.secondFactorKeyring)
        auth = try await Auth(
            store: store, hasher: hasher, policy: policy, logger: log.logger, clock: { clock.now })
    }
}

/// Logs in with `password`, returning the outcome as an `AuthError` (or `nil` on success).
func attempt(_ auth: Auth, _ email: String, _ password: String) async -> AuthError? {
    do {
        _ = try await auth.validLogin(email: email, password: password)
        return nil
    } catch let error as AuthError {
        return error
    } catch {
        Issue.record("unexpected error \(error)")
        return nil
    }
}

extension Auth {
    /// A verified login for an account, as if its password had just been checked, from the
    /// store's current hash: for tests that need a session without a login.
    func verifiedLogin(for account: Account) async throws -> VerifiedLogin {
        VerifiedLogin(try #require(try await store.findUser(by: .id(account.id))))
    }
}

/// Reads the account events an in-memory store's outbox holds, as `AccountEvent`s.
struct OutboxRecorder {
    let store: InMemoryStore
    let keyring: SecondFactorKeyring?

    /// The events, oldest first.
    var events: [AccountEvent] {
        get async { await store.outboxEvents(keyring: keyring).compactMap(AccountEvent.init(recorded:)) }
    }
}

extension AccountEvent {
    /// The event a recorded one stands for (times to the second, as the JSON carries them).
    init?(recorded: RecordedEvent) {
        let field = { (name: String) -> String? in recorded.fields[name] ?? nil }
        let time = { (name: String) -> Date in
            field(name).flatMap { try? Date($0, strategy: .iso8601) } ?? .distantPast
        }
        let email = field("email") ?? ""
        switch recorded.name {
        case "password_reset_requested":
            self = .passwordResetRequested(
                email: email, token: field("reset_token") ?? "", expiresAt: time("expires_at"))
        case "registration_attempt_existing_account": self = .registrationAttemptExistingAccount(email: email)
        case "password_changed":
            self = .passwordChanged(email: email, at: time("at"), ip: field("ip"), userAgent: field("user_agent"))
        case "password_reset":
            self = .passwordReset(email: email, at: time("at"), ip: field("ip"), userAgent: field("user_agent"))
        case "account_deleted": self = .accountDeleted(email: email, at: time("at"))
        case "email_verification_requested":
            self = .emailVerificationRequested(
                email: email, token: field("verification_token") ?? "", expiresAt: time("expires_at"))
        case "email_changed": self = .emailChanged(email: email, newEmail: field("new_email") ?? "")
        case "email_change_requested":
            self = .emailChangeRequested(
                email: email, token: field("verification_token") ?? "", expiresAt: time("expires_at"))
        case "email_change_started": self = .emailChangeStarted(email: email, newEmail: field("new_email") ?? "")
        case "mfa_enabled": self = .secondFactorEnabled(email: email, at: time("at"))
        case "mfa_disabled": self = .secondFactorDisabled(email: email, at: time("at"))
        case "recovery_code_used":
            self = .recoveryCodeUsed(email: email, at: time("at"), left: Int(field("recovery_codes_left") ?? "") ?? -1)
        case "password_used_without_second_factor":
            self = .passwordUsedWithoutSecondFactor(email: email, at: time("at"))
        default: return nil
        }
    }
}
