import Foundation
import LatchkeyTestSupport
import MetricsTestKit
import Synchronization
import Testing

@testable import LatchkeyCore

/// A hasher whose every call is shed, as `HashingPool` sheds a job that cannot start in time.
private final class SheddingHasher: PasswordHasher {
    let inner = FastHasher()
    let shedding = Atomic<Bool>(false)
    /// Only new hashes are shed, and every stored hash asks to be replaced.
    let sheddingNewHashesOnly = Atomic<Bool>(false)

    func hash(_ password: String) async throws -> String {
        if shedding.load(ordering: .relaxed) || sheddingNewHashesOnly.load(ordering: .relaxed) {
            throw AuthError.overloaded(retryAfter: 3)
        }
        return try await inner.hash(password)
    }

    func verify(_ password: String, against hash: String) async throws -> Bool {
        if shedding.load(ordering: .relaxed) { throw AuthError.overloaded(retryAfter: 3) }
        return try await inner.verify(password, against: hash)
    }

    func needsRehash(_ hash: String) -> Bool {
        sheddingNewHashesOnly.load(ordering: .relaxed) || inner.needsRehash(hash)
    }
}

/// A hasher whose verification takes a while and finishes even when its request is cancelled,
/// as a hash already running on a thread does.
private final class UncancellableSlowHasher: PasswordHasher {
    let inner = FastHasher()
    /// Set when a verification has begun: a test cancels its caller only then.
    let verifying = Atomic<Bool>(false)

    func hash(_ password: String) async throws -> String { try await inner.hash(password) }

    func verify(_ password: String, against hash: String) async throws -> Bool {
        verifying.store(true, ordering: .releasing)
        let done = Task { try await Task.sleep(for: .milliseconds(200)) }
        _ = try? await done.value
        return try await inner.verify(password, against: hash)
    }

    func needsRehash(_ hash: String) -> Bool { inner.needsRehash(hash) }
}

@Suite("Hashing admission: shed what cannot start in time")
struct HashingAdmissionTests {
    /// An admission whose jobs are measured at `mean`.
    func admission(threads: Int, timeout: Duration, mean: Duration, metrics: TestMetrics) -> HashingAdmission {
        let admission = HashingAdmission(threads: threads, queueTimeout: timeout, factory: metrics)
        let ticket = try! admission.admit()
        #expect(admission.start(ticket))
        admission.finish(ticket, ranFor: mean)
        return admission
    }

    @Test("jobs are admitted while their estimated wait is within the timeout, then refused with the drain time")
    func estimate() throws {
        let metrics = TestMetrics()
        // Two threads, 0.5 s a job, 2 s timeout: the tenth job waits (10 - 2) / 2 × 0.5 = 2 s; the
        // eleventh would wait 2.25 s.
        let admission = admission(threads: 2, timeout: .seconds(2), mean: .milliseconds(500), metrics: metrics)
        var tickets: [HashingAdmission.Ticket] = []
        for _ in 0..<10 {
            tickets.append(try admission.admit())
        }
        #expect(admission.waiting == 10)
        #expect(try metrics.expectGauge("latchkey_hashing_queue_depth").lastValue == 10)
        #expect(throws: AuthError.overloaded(retryAfter: 3)) { try admission.admit() }
        #expect(try metrics.expectCounter("latchkey_hashing_shed_total").totalValue == 1)
        // One job done: room for one more.
        #expect(admission.start(tickets[0]))
        admission.finish(tickets[0], ranFor: .milliseconds(500))
        _ = try admission.admit()
        #expect(throws: AuthError.overloaded(retryAfter: 3)) { try admission.admit() }
    }

    @Test("the estimate follows the measured duration of recent jobs")
    func measured() throws {
        let metrics = TestMetrics()
        let admission = admission(threads: 1, timeout: .seconds(1), mean: .milliseconds(100), metrics: metrics)
        for _ in 0..<11 {
            _ = try admission.admit()
        }
        #expect(throws: AuthError.self) { try admission.admit() }
        let slower = self.admission(threads: 1, timeout: .seconds(1), mean: .milliseconds(400), metrics: metrics)
        for _ in 0..<3 {
            _ = try slower.admit()
        }
        #expect(throws: AuthError.self) { try slower.admit() }
    }

    @Test("when hashes run fast again after a slow spell, one fast job brings the estimate back")
    func recovers() throws {
        let metrics = TestMetrics()
        // Slow jobs (2 s, cheap requests took the cores): one thread, 1 s timeout, nothing queues.
        let admission = admission(threads: 1, timeout: .seconds(1), mean: .seconds(2), metrics: metrics)
        let running = try admission.admit()
        #expect(throws: AuthError.self) { try admission.admit() }
        // The next job runs at full speed: the mean alone (1.62 s) would still refuse the queue.
        #expect(admission.start(running))
        admission.finish(running, ranFor: .milliseconds(100))
        // Eleven jobs: the last waits 10 × 0.1 s, within the timeout; a twelfth would not.
        for _ in 0..<11 {
            _ = try admission.admit()
        }
        #expect(throws: AuthError.self) { try admission.admit() }
    }

    @Test("before any job is measured, and without a timeout, every job is admitted; a slow pool admits few")
    func unmeasured() throws {
        let metrics = TestMetrics()
        let fresh = HashingAdmission(threads: 1, queueTimeout: .seconds(1), factory: metrics)
        let slow = admission(threads: 1, timeout: .seconds(1), mean: .seconds(10), metrics: metrics)
        let noTimeout = HashingAdmission(threads: 1, queueTimeout: nil, factory: metrics)
        let ticket = try noTimeout.admit()
        #expect(noTimeout.start(ticket))
        noTimeout.finish(ticket, ranFor: .seconds(10))
        for _ in 0..<100 {
            _ = try fresh.admit()
            _ = try noTimeout.admit()
        }
        _ = try slow.admit()
        #expect(throws: AuthError.self) { try slow.admit() }
    }

    @Test("a job whose deadline passed while queued is dropped, not run, and counted as shed")
    func deadline() throws {
        let metrics = TestMetrics()
        let admission = HashingAdmission(threads: 1, queueTimeout: .seconds(2), factory: metrics)
        let now = ContinuousClock.now
        let ticket = try admission.admit(now: now)
        #expect(!admission.start(ticket, now: now.advanced(by: .milliseconds(2001))))
        admission.finish(ticket, ranFor: nil)
        #expect(admission.waiting == 0)
        #expect(try metrics.expectCounter("latchkey_hashing_shed_total").totalValue == 1)
        let onTime = try admission.admit(now: now)
        #expect(admission.start(onTime, now: now.advanced(by: .seconds(2))))
    }

    @Test("a queued job whose request is cancelled (its client went) never runs")
    func cancelledWhileQueued() async throws {
        let pool = HashingPool(threads: 1, queueTimeout: .seconds(60), factory: TestMetrics())
        let held = try await HeldThread.hold(pool)
        let recorder = JobRecorder()
        let queued = Task { try await pool.run { recorder.start(1) } }
        while pool.waiting < 1 { try await Task.sleep(for: .milliseconds(1)) }
        queued.cancel()
        // The pool skips a cancelled job when its turn comes, without running it.
        try await held.release()
        await #expect(throws: CancellationError.self) { try await queued.value }
        try await pool.run {}
        #expect(recorder.order.isEmpty)
        #expect(pool.waiting == 0)
        try await pool.shutdown()
    }

    @Test("a shed login answers overloaded, gives its throttle reservation back, and is not a failure")
    func shedLogin() async throws {
        let store = InMemoryStore()
        let hasher = SheddingHasher()
        let metrics = TestMetrics()
        let auth = try await Auth(
            store: store, hasher: hasher, metrics: AuthMetrics(factory: metrics), logger: CapturedLog().logger)
        _ = try await auth.registerUser(email: "ada@example.com", password: "b4l0u")
        hasher.shedding.store(true, ordering: .relaxed)
        for _ in 0..<20 {
            await #expect(throws: AuthError.overloaded(retryAfter: 3)) {
                _ = try await auth.validLogin(email: "ada@example.com", password: "wrong")
            }
        }
        #expect(try await store.throttleRecord(ThrottleKey(.login, "ada@example.com")) == nil)
        #expect(try metrics.expectCounter("latchkey_logins_total", [("outcome", "failed")]).totalValue == 0)
        await #expect(throws: AuthError.overloaded(retryAfter: 3)) {
            _ = try await auth.registerUser(email: "bob@example.com", password: "b4l0u")
        }
        hasher.shedding.store(false, ordering: .relaxed)
        _ = try await auth.validLogin(email: "ada@example.com", password: "b4l0u")
        #expect(try await store.findUser(by: .email("bob@example.com")) == nil)
    }

    @Test("a login whose client goes during its check still settles its attempt", arguments: [true, false])
    func cancelledDuringCheck(rightPassword: Bool) async throws {
        let store = InMemoryStore()
        let hasher = UncancellableSlowHasher()
        let auth = try await Auth(store: store, hasher: hasher, logger: CapturedLog().logger)
        _ = try await auth.registerUser(email: "ada@example.com", password: "b4l0u")
        let login = Task {
            try await auth.validLogin(email: "ada@example.com", password: rightPassword ? "b4l0u" : "wrong")
        }
        // The client goes once the check has begun, however long the machine took to get there.
        while !hasher.verifying.load(ordering: .acquiring) { try await Task.sleep(for: .milliseconds(1)) }
        login.cancel()
        _ = try? await login.value
        let record = try await store.throttleRecord(ThrottleKey(.login, "ada@example.com"))
        #expect(record?.pending.isEmpty ?? true)
        #expect((record?.count ?? 0) == (rightPassword ? 0 : 1))
    }

    @Test("a right password is not refused when only the rehash after it is shed: the old hash stays")
    func shedRehash() async throws {
        let store = InMemoryStore()
        let hasher = SheddingHasher()
        let auth = try await Auth(store: store, hasher: hasher, logger: CapturedLog().logger)
        _ = try await auth.registerUser(email: "ada@example.com", password: "b4l0u")
        let before = try await store.findUser(by: .email("ada@example.com"))?.passwordHash
        hasher.sheddingNewHashesOnly.store(true, ordering: .relaxed)
        _ = try await auth.validLogin(email: "ada@example.com", password: "b4l0u")
        #expect(try await store.findUser(by: .email("ada@example.com"))?.passwordHash == before)
    }
}
