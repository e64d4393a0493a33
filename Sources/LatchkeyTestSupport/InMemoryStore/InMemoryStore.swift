import Foundation
import LatchkeyCore

/// A store in memory, for fast tests of the rules. It behaves as the contract suite
/// requires of every store, unique email included.
public actor InMemoryStore: AdminStore {
    var users: [Int64: User] = [:]
    /// By the address's UTF-8 bytes: the databases compare bytes, and Swift's `String` equality
    /// would make an NFD address equal to its NFC form.
    var userIDsByEmail: [[UInt8]: Int64] = [:]
    var sessions: [TokenDigest: Session] = [:]
    var resetTokens: [Int64: ResetToken] = [:]
    var throttles: [ThrottleKey: ThrottleRecord] = [:]
    var nextID: Int64 = 1
    var conflicts: [Int64: EmailConflict] = [:]
    /// Every user's activity, oldest first.
    var activity: [ActivityEvent] = []
    var verificationTokens: [Int64: VerificationToken] = [:]
    /// Each user's factor; its `recoveryCodesLeft` is not kept here (`recoveryCodes` counts).
    var secondFactors: [Int64: SecondFactor] = [:]
    /// Each user's unused recovery codes' digests, in the order stored.
    var recoveryCodes: [Int64: [Data]] = [:]
    var loginChallenges: [TokenDigest: LoginChallenge] = [:]
    /// Each unverified address's pending claim, by its account.
    var pendingClaims: [Int64: PendingClaim] = [:]
    /// The outbox's rows, by message id.
    var outbox: [String: OutboxEntry] = [:]
    /// The order the outbox's rows were written in (ids to a sequence number).
    var outboxSequence: [String: Int] = [:]
    /// When set, every call fails with `StoreError.unavailable`, to test outage handling.
    public private(set) var failing = false
    /// When set, activity entries cannot be written (`StoreError.unavailable`), and nothing else
    /// fails: recording must never fail the request it records.
    public private(set) var failingActivity = false
    /// How many times a session was looked up by its token digest (`findSession(digest:)`).
    public internal(set) var sessionReads = 0

    /// Creates an empty store.
    public init() {}

    /// Makes every later call fail, or succeed again.
    /// - Parameter failing: Whether calls fail.
    public func setFailing(_ failing: Bool) {
        self.failing = failing
    }

    /// Makes every later activity entry fail to be written, or succeed again.
    /// - Parameter failing: Whether entries fail.
    public func setFailingActivity(_ failing: Bool) {
        self.failingActivity = failing
    }

    /// The number of sessions stored, live or not.
    public var sessionCount: Int { sessions.count }

    /// The number of reset tokens stored.
    public var resetTokenCount: Int { resetTokens.count }

    /// The number of throttle records stored, of every scope.
    public var throttleRecordCount: Int { throttles.count }

    /// The number of activity entries stored, of every account.
    public var activityCount: Int { activity.count }

    /// Fails a call while the store is set to fail, and, as the real stores do, a call made by
    /// a cancelled task (its request's client went).
    func check() throws {
        if failing { throw StoreError.unavailable("in-memory store set to fail") }
        if Task.isCancelled { throw StoreError.unavailable("the calling task is cancelled") }
    }

    /// Succeeds unless the store is set to fail.
    public func checkAvailable() throws {
        try check()
    }
}
