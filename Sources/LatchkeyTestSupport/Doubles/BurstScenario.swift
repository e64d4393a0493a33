import Foundation
import LatchkeyCore
import Testing

/// Bursts of attempts against one account, sent at once through one or more `Auth`s (nodes)
/// on one store: at most the limit is ever checked, and the rest is refused with a wait.
public enum BurstScenario {
    /// How a burst was answered.
    public struct Outcome: Sendable, Equatable {
        /// Attempts answered as wrong (401 or 403).
        public var wrong = 0
        /// Attempts refused with a wait (429).
        public var throttled = 0
        /// Attempts that logged in or reset.
        public var succeeded = 0
        /// Anything else.
        public var other = 0
        /// The longest `Retry-After` given, in seconds.
        public var longestRetryAfter = 0

        /// Adds another attempt's answer to these.
        mutating func add(_ other: Outcome) {
            wrong += other.wrong
            throttled += other.throttled
            succeeded += other.succeeded
            self.other += other.other
            longestRetryAfter = max(longestRetryAfter, other.longestRetryAfter)
        }
    }

    /// Sends `count` login attempts at once, spread over `nodes`; attempt `rightAt` (if any)
    /// carries the right password.
    /// - Returns: How they were answered.
    public static func logins(
        _ nodes: [Auth], email: String, password: String, count: Int, rightAt: Int? = nil
    ) async -> Outcome {
        await burst(nodes, count: count, wrong: .invalidCredentials) { auth, index in
            _ = try await auth.validLogin(email: email, password: index == rightAt ? password : "wrong-\(index)")
        }
    }

    /// Sends `count` wrong reset tokens at once, spread over `nodes`.
    /// - Returns: How they were answered.
    public static func resetTokens(_ nodes: [Auth], email: String, count: Int) async -> Outcome {
        await burst(nodes, count: count, wrong: .invalidResetToken) { auth, _ in
            _ = try await auth.updatePassword(
                resetToken: SecretToken.generate(), email: email, newPassword: "n3w-password")
        }
    }

    /// Runs `count` attempts at once, spread over `nodes`, and sorts their answers: success,
    /// `wrong`, a wait (with its `Retry-After`), or anything else.
    private static func burst(
        _ nodes: [Auth], count: Int, wrong: AuthError,
        attempt: @escaping @Sendable (Auth, Int) async throws -> Void
    ) async -> Outcome {
        await withTaskGroup(of: Outcome.self) { group in
            for index in 0..<count {
                let auth = nodes[index % nodes.count]
                group.addTask {
                    var outcome = Outcome()
                    do {
                        try await attempt(auth, index)
                        outcome.succeeded = 1
                    } catch let error as AuthError where error == wrong {
                        outcome.wrong = 1
                    } catch AuthError.throttled(let seconds) where seconds >= 1 {
                        outcome.throttled = 1
                        outcome.longestRetryAfter = seconds
                    } catch {
                        outcome.other = 1
                    }
                    return outcome
                }
            }
            return await group.reduce(into: Outcome()) { $0.add($1) }
        }
    }

    /// The whole scenario on a store, through one `Auth` with a gated hasher.
    /// - Parameter store: An empty store.
    public static func run(on store: any AuthStore) async throws {
        let hasher = GatedHasher(inner: FastHasher(), gate: 10)
        try await run(nodes: [try await Auth(store: store, hasher: hasher)], hasher: hasher)
    }

    /// The whole scenario through `nodes` (each an `Auth`, on one database) sharing one gated
    /// hasher: 100 wrong passwords at once get exactly 10 checks and 401s, the rest 429; then
    /// 60 more with the right password among them all get 429, and no check; 60 wrong reset
    /// tokens at once get at most 10 403s, the rest 429.
    /// - Parameters:
    ///   - nodes: The `Auth`s, on an empty database.
    ///   - hasher: Their hasher, whose gate is 10 (the default limit).
    public static func run(nodes: [Auth], hasher: GatedHasher) async throws {
        _ = try await nodes[0].registerUser(email: "burst@example.com", password: "b4l0u")
        let first = await logins(nodes, email: "burst@example.com", password: "b4l0u", count: 100)
        #expect(first.wrong == 10)
        #expect(first.throttled == 90)
        #expect(first.other == 0)
        // Never more than the first wait: the time is read once the store holds the record.
        #expect(first.longestRetryAfter <= FailureThrottle().firstWait)
        #expect(await hasher.verifications == 10)
        let second = await logins(nodes, email: "burst@example.com", password: "b4l0u", count: 60, rightAt: 30)
        #expect(second.throttled == 60)
        #expect(await hasher.verifications == 10)
        _ = try await nodes[0].registerUser(email: "reset@example.com", password: "b4l0u")
        _ = try await nodes[0].requestPasswordReset(for: "reset@example.com")
        let tokens = await resetTokens(nodes, email: "reset@example.com", count: 60)
        #expect(tokens.wrong <= 10)
        #expect(tokens.wrong + tokens.throttled == 60)
        #expect(tokens.succeeded == 0)
    }
}
