import Foundation
import LatchkeyTestSupport
import Logging
import Synchronization
import Testing

@testable import LatchkeyApp
@testable import LatchkeyCore

final class ManualClock: Sendable {
    private let current = Mutex(Date(timeIntervalSince1970: 1_800_000_000))
    var now: Date { current.withLock { $0 } }
    func advance(by seconds: TimeInterval) { current.withLock { $0 = $0.addingTimeInterval(seconds) } }
}

@Suite("Purging")
struct PurgeServiceTests {
    /// Waits until `condition` holds, for at most `seconds`.
    func eventually(_ seconds: Double = 10, _ condition: () async -> Bool) async throws -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if await condition() { return true }
            try await Task.sleep(for: .milliseconds(20))
        }
        return await condition()
    }

    @Test("the purge service removes expired sessions and reset tokens again and again")
    func periodic() async throws {
        let store = InMemoryStore()
        let clock = ManualClock()
        let policy = AuthPolicy(sessionLifetime: 3600, sessionIdleTimeout: 600, resetTokenTTL: 900)
        let auth = try await Auth(
            store: store, hasher: FastHasher(), policy: policy, logger: CapturedLog().logger, clock: { clock.now })
        let user = try await auth.registerUser(email: "ada@example.com", password: "pw")
        _ = try await auth.createSession(for: auth.validLogin(email: user.email, password: "pw"))
        _ = try await auth.resetPasswordToken(for: user.email)
        let passes = Atomic<Int>(0)
        let service = PurgeService(auth: auth, interval: 1, logger: CapturedLog().logger) { _ in
            passes.add(1, ordering: .relaxed)
        }
        let running = Task { try await service.run() }
        defer { running.cancel() }

        // Nothing has expired yet: the first pass keeps everything.
        #expect(try await eventually { passes.load(ordering: .relaxed) >= 1 })
        #expect(await store.sessionCount == 1)
        #expect(await store.resetTokenCount == 1)

        clock.advance(by: 1000)
        #expect(
            try await eventually {
                let sessions = await store.sessionCount
                let tokens = await store.resetTokenCount
                return sessions == 0 && tokens == 0
            }
        )

        // A later pass catches what expires after the first one.
        _ = try await auth.createSession(for: auth.validLogin(email: user.email, password: "pw"))
        #expect(await store.sessionCount == 1)
        clock.advance(by: 700)
        #expect(try await eventually { await store.sessionCount == 0 })
    }
}
