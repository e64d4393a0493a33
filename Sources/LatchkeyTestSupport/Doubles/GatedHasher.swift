import LatchkeyCore

/// A hasher whose first `gate` verifications wait for each other, so that concurrent attempts
/// are all checked at once before any goes on: what a burst of requests does to a real hasher.
public actor GatedHasher: PasswordHasher {
    /// The hasher that does the work.
    public let inner: FastHasher
    /// How many verifications wait for each other.
    public let gate: Int
    private var arrived = 0
    /// How many verifications have run.
    public private(set) var verifications = 0
    private var waiting: [CheckedContinuation<Void, Never>] = []

    /// Creates the hasher.
    /// - Parameters:
    ///   - inner: The hasher that does the work.
    ///   - gate: How many verifications wait for each other.
    public init(inner: FastHasher, gate: Int) {
        self.inner = inner
        self.gate = gate
    }

    /// Hashes with the inner hasher.
    public func hash(_ password: String) async throws -> String {
        try await inner.hash(password)
    }

    /// Verifies with the inner hasher, then waits until `gate` verifications have arrived.
    public func verify(_ password: String, against hash: String) async throws -> Bool {
        let result = try await inner.verify(password, against: hash)
        arrived += 1
        verifications = arrived
        if arrived < gate {
            await withCheckedContinuation { waiting.append($0) }
        } else if arrived == gate {
            for continuation in waiting { continuation.resume() }
            waiting = []
        }
        return result
    }

    /// As the inner hasher says.
    public nonisolated func needsRehash(_ hash: String) -> Bool {
        inner.needsRehash(hash)
    }
}
