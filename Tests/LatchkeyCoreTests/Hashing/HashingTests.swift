import Foundation
import Synchronization
import Testing

@testable import LatchkeyCore

/// Records how many jobs run at once, and in which order they started.
final class JobRecorder: Sendable {
    private let state = Mutex((running: 0, peak: 0, order: [Int](), threads: Set<String>()))

    func start(_ index: Int) {
        let name = Thread.current.name ?? ""
        state.withLock {
            $0.running += 1
            $0.peak = max($0.peak, $0.running)
            $0.order.append(index)
            $0.threads.insert(name)
        }
    }

    func finish() {
        state.withLock { $0.running -= 1 }
    }

    var peak: Int { state.withLock { $0.peak } }
    var order: [Int] { state.withLock { $0.order } }
    var threads: Set<String> { state.withLock { $0.threads } }
}

/// Holds a one-thread pool's only thread until `release()`, so that the jobs handed to it after
/// `hold(_:)` returns queue up.
struct HeldThread {
    let gate: DispatchSemaphore
    let job: Task<Void, any Error>

    static func hold(_ pool: HashingPool) async throws -> HeldThread {
        let holding = DispatchSemaphore(value: 0)
        let gate = DispatchSemaphore(value: 0)
        let job = Task {
            try await pool.run {
                holding.signal()
                gate.wait()
            }
        }
        while holding.wait(timeout: .now()) == .timedOut { try await Task.sleep(for: .milliseconds(1)) }
        return HeldThread(gate: gate, job: job)
    }

    /// Lets the held job end, and waits for it.
    func release() async throws {
        gate.signal()
        try await job.value
    }
}

@Suite("Hashing pool")
struct HashingTests {
    @Test("jobs run on the pool's own threads, no more at once than it has, first come first served")
    func bounded() async throws {
        let pool = HashingPool(threads: 1)
        let recorder = JobRecorder()
        // Hold the only thread so that the jobs below queue up in submission order.
        let held = try await HeldThread.hold(pool)
        var tasks: [Task<Void, any Error>] = []
        for index in 0..<8 {
            tasks.append(
                Task {
                    try await pool.run {
                        recorder.start(index)
                        Thread.sleep(forTimeInterval: 0.005)
                        recorder.finish()
                    }
                }
            )
            // Each job is queued before the next is submitted, whatever the machine's speed.
            while pool.waiting < index + 1 { try await Task.sleep(for: .milliseconds(1)) }
        }
        #expect(recorder.order.isEmpty)
        try await held.release()
        for task in tasks { try await task.value }
        #expect(recorder.peak == 1)
        #expect(recorder.order == Array(0..<8))
        #expect(recorder.threads.allSatisfy { $0.hasPrefix("TP-") })
        try await pool.shutdown()
    }

    @Test("a pool of two runs two jobs at once and never three")
    func twoThreads() async throws {
        let pool = HashingPool(threads: 2)
        let recorder = JobRecorder()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for index in 0..<12 {
                group.addTask {
                    try await pool.run {
                        recorder.start(index)
                        Thread.sleep(forTimeInterval: 0.02)
                        recorder.finish()
                    }
                }
            }
            try await group.waitForAll()
        }
        #expect(recorder.peak == 2)
        try await pool.shutdown()
    }

    @Test("bcrypt hashes verify their own password only, and use the configured cost")
    func bcrypt() async throws {
        let hasher = BcryptPasswordHasher(cost: 5, threads: 1)
        let hash = try await hasher.hash("b4l0u")
        #expect(hash.hasPrefix("$lkb2$"))
        #expect(hash.contains("$$2b$05$"))
        let expectedLength = 6 + 22 + 1 + 60
        #expect(hash.count == expectedLength)
        #expect(try await hasher.verify("b4l0u", against: hash))
        #expect(try await hasher.verify("b4l0U", against: hash) == false)
        #expect(try await hasher.verify("b4l0u", against: "not a hash") == false)
        try await hasher.shutdown()
    }
}

@Suite("Hashing priority")
struct HashingPriorityTests {
    @Test("hashing threads run at a lower priority than the rest of the process")
    func niceness() async throws {
        #if os(Linux)
            let pool = HashingPool(threads: 2)
            let inside = try await pool.run { getpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0) }
            #expect(inside == HashingPool.niceness)
            let outside = await Task.detached { getpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0) }.value
            #expect(outside < HashingPool.niceness)
            try await pool.shutdown()
        #endif
    }
}

@Suite("Hashing gives way to requests")
struct HashingSlicesTests {
    @Test("hashing gives way only within the window after a request that did not hash")
    func window() {
        let window = RequestLoad.windowNanoseconds
        #expect(window > 0)
        #expect(RequestLoad.shouldYield(now: 1_000_000_000, lastCheap: 1_000_000_000))
        #expect(RequestLoad.shouldYield(now: 1_000_000_000 + window - 1, lastCheap: 1_000_000_000))
        #expect(!RequestLoad.shouldYield(now: 1_000_000_000 + window, lastCheap: 1_000_000_000))
    }

    @Test("a request is marked when it hands a job to a hashing pool, and records its end otherwise")
    func marking() async throws {
        let pool = HashingPool(threads: 1)
        let before = RequestLoad.monotonicNanoseconds()
        let cheap = try await RequestLoad.serve { RequestLoad.current }
        #expect(cheap?.hashed.load(ordering: .relaxed) == false)
        // Other tests may record later ends too, never earlier ones.
        #expect(RequestLoad.lastCheapRequest.load(ordering: .relaxed) >= before)
        let hashing = try await RequestLoad.serve {
            _ = try await pool.run { 1 }
            return RequestLoad.current
        }
        #expect(hashing?.hashed.load(ordering: .relaxed) == true)
        #expect(RequestLoad.current == nil)
        try await pool.shutdown()
    }

    @Test("a job pauses while requests that do not hash are served, and its result is unchanged")
    func pauses() async throws {
        #if os(Linux)
            let hasher = BcryptPasswordHasher(cost: 10, threads: 1)
            let before = HashingSlices.pauses.load(ordering: .relaxed)
            // As if profile reads kept ending while the job runs. One mark opens a window of only
            // 50 ms, which a busy machine may let pass before the job's thread gets its first signal;
            // marking every 5 ms until the hash returns keeps the window open for the whole job, so
            // a job that never pauses means pausing is broken, not that the test was slow.
            let marking = Task {
                while !Task.isCancelled {
                    RequestLoad.lastCheapRequest.store(RequestLoad.monotonicNanoseconds(), ordering: .relaxed)
                    try? await Task.sleep(for: .milliseconds(5))
                }
            }
            defer { marking.cancel() }
            let hash = try await hasher.hash("b4l0u-slices")
            marking.cancel()
            await marking.value
            #expect(try await hasher.verify("b4l0u-slices", against: hash))
            #expect(HashingSlices.pauses.load(ordering: .relaxed) > before)
            try await hasher.shutdown()
        #endif
    }
}
