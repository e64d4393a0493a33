import Foundation
import Logging

/// Every rule of the service: registration, login, sessions, password resets and the
/// password policy. The HTTP layer talks to this type only; it talks to the store.
///
/// Every method throws only `AuthError`.
public final class Auth: Sendable {
    /// The rules' tunable values.
    public let policy: AuthPolicy
    let store: any AuthStore
    let hasher: any PasswordHasher
    let metrics: AuthMetrics
    let clock: @Sendable () -> Date
    let logger: Logger
    /// A hash of a random password, verified against when an email is unknown so that a
    /// login for an unknown email costs the same bcrypt work as a wrong password.
    let dummyHash: String
    /// Keeps the warning about shed hashing jobs to one a second.
    let shedWarning = OncePerSecond()
    /// The work started after an answer (`backgroundWorkSettled()`).
    let background = BackgroundWork()
    /// Rung when a message commits (`outboxBell`).
    let bell = OutboxBell()

    /// Creates the rules over a store and a hasher.
    /// - Parameters:
    ///   - store: Where users, sessions, reset tokens and the outbox live (account events are
    ///     written to the outbox, one row per channel of `policy.tokenChannels` or `policy.noticeChannels`).
    ///   - hasher: The password hasher.
    ///   - policy: The rules' tunable values.
    ///   - metrics: Where counts and bcrypt durations go (default: the process's metrics system).
    ///   - logger: Where storage failures are reported (never secrets).
    ///   - clock: The source of the current time; tests substitute their own.
    /// - Throws: When the hasher cannot make the dummy hash.
    public init(
        store: any AuthStore,
        hasher: any PasswordHasher,
        policy: AuthPolicy = AuthPolicy(),
        metrics: AuthMetrics = AuthMetrics(),
        logger: Logger = Logger(label: "latchkey.auth"),
        clock: @escaping @Sendable () -> Date = { Date() }
    ) async throws {
        self.store = store
        self.hasher = hasher
        self.metrics = metrics
        self.policy = policy
        self.logger = logger
        self.clock = clock
        self.dummyHash = try await hasher.hash(SecretToken.generate())
    }

    /// Runs a store call and turns its failures into `AuthError`s; a cancelled request's
    /// `CancellationError` passes through.
    func storage<T>(_ body: () async throws -> T) async throws -> T {
        do {
            return try await body()
        } catch let error as StoreError {
            switch error {
            case .duplicateEmail:
                throw AuthError.emailAlreadyRegistered
            case .invalidValue(let reason):
                throw AuthError.invalidInput(reason)
            case .notFound, .unavailable:
                // A store call of a cancelled request (its client went) fails as unavailable.
                if Task.isCancelled { throw CancellationError() }
                logger.error("storage failure", metadata: ["error": "\(error)"])
                throw AuthError.storageUnavailable
            }
        } catch let error as AuthError {
            throw error
        } catch is CancellationError {
            // The request was cancelled (its client went): not a storage failure.
            throw CancellationError()
        } catch {
            logger.error("storage failure", metadata: ["error": "\(error)"])
            throw AuthError.storageUnavailable
        }
    }

    /// Runs a hasher call. A job the hashing queue sheds is `overloaded` (a warning once a
    /// second at most); a cancelled request's job is never run; any other failure (a hasher
    /// shutting down) makes the request retryable.
    func hashing<T>(_ body: () async throws -> T) async throws -> T {
        let started = ContinuousClock.now
        do {
            let value = try await body()
            metrics.bcryptDuration.record(duration: ContinuousClock.now - started)
            return value
        } catch AuthError.overloaded(let seconds) {
            if shedWarning.shouldWarn(now: started) {
                logger.warning(
                    "hashing queue full: requests that need a password hash are refused with 503",
                    metadata: ["retry_after": "\(seconds)"])
            }
            throw AuthError.overloaded(retryAfter: seconds)
        } catch is CancellationError {
            throw CancellationError()
        } catch {
            logger.error("password hashing failed", metadata: ["error": "\(error)"])
            throw AuthError.storageUnavailable
        }
    }
}
