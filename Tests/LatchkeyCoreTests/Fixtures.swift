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
    let notifier = RecordingNotifier()
    /// What the rules logged: kept, not printed, so that a test of a failure prints no error.
    let log = CapturedLog()
    let auth: Auth

    init(policy: AuthPolicy = AuthPolicy()) async throws {
        let clock = self.clock
        auth = try await Auth(
            store: store, hasher: hasher, policy: policy, notifier: notifier, logger: log.logger, clock: { clock.now })
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
