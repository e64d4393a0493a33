import ArgumentParser
import Foundation
import HummingbirdBcrypt
import LatchkeyCore
import NIOCore
import NIOPosix

/// `latchkey seed-users`: bulk users (sharing one precomputed hash) and sessions, for benchmarks.
struct SeedUsersCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "seed-users",
        abstract: "Bulk-insert users sharing one precomputed hash, and live sessions, for benchmarks.",
        discussion: """
            Users are seed<N>@bench.latchkey.test with the password given by --password. Sessions \
            belong to random seeded users; their tokens go to --tokens-out, one per line.
            """
    )

    @Option(help: "How many users to add.")
    var count: Int

    @Option(help: "How many live sessions to add.")
    var sessions = 0

    @Option(name: .customLong("tokens-out"), help: "Where to write the session tokens, one per line.")
    var tokensOut: String?

    @Option(help: "The password every seeded user shares.")
    var password = "bench-password-1"

    @Option(name: .customLong("batch-size"), help: "Rows per transaction.")
    var batchSize = 50_000

    @OptionGroup var database: DatabaseOptions

    func validate() throws {
        guard count >= 0, sessions >= 0, batchSize > 0 else { throw ValidationError("counts must not be negative") }
        guard sessions == 0 || count > 0 else { throw ValidationError("--sessions needs users to belong to") }
        guard sessions == 0 || tokensOut != nil else { throw ValidationError("--sessions needs --tokens-out FILE") }
    }

    func run() async throws {
        let (count, sessions, password, batchSize) = (count, sessions, password, batchSize)
        // At the configured cost, so that logging in as a seeded user costs what a real login costs
        // (and triggers no rehash).
        let cost = try await Admin.settings(database).bcryptCost
        // Opened before any row is written, so that a path that cannot be written fails the
        // command before it seeds users whose sessions would have no tokens on file.
        let file = try tokensOut.map { path in
            guard FileManager.default.createFile(atPath: path, contents: nil) else {
                throw ValidationError("cannot write the tokens file \(path)")
            }
            return try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        }
        defer { try? file?.close() }
        try await Admin.withAuth(database) { auth, opened in
            let hash = Bcrypt.hash(password, cost: UInt8(cost))
            let now = Date()
            var first: Int64?
            var start = 0
            let prefix = "seed\(UInt32.random(in: 0...UInt32.max))-"
            while start < count {
                let end = min(count, start + batchSize)
                let batch = (start..<end).map {
                    NewUser(email: "\(prefix)\($0)@bench.latchkey.test", passwordHash: hash, createdAt: now)
                }
                _ = try await opened.store.addUsers(batch)
                if first == nil {
                    first = try await opened.store.findUser(by: .email(batch[0].email))?.id
                }
                start = end
                FileHandle.standardError.write(Data("users: \(end) of \(count)\n".utf8))
            }
            guard sessions > 0, let first, let file else {
                print("seeded \(count) users")
                return
            }
            var made = 0
            while made < sessions {
                let end = min(sessions, made + batchSize)
                var tokens: [String] = []
                var batch: [Session] = []
                // Fresh as of this batch: a session last seen long ago would be refreshed on its
                // first read, and a benchmark would measure those writes.
                let now = Date()
                for _ in made..<end {
                    let token = SecretToken.generate()
                    tokens.append(token)
                    let userID = first + Int64.random(in: 0..<Int64(count))
                    batch.append(
                        Session(
                            tokenDigest: TokenDigest(of: token), userID: userID, createdAt: now, lastSeenAt: now,
                            expiresAt: now.addingTimeInterval(TimeInterval(auth.policy.sessionLifetime))))
                }
                try await opened.store.addSessions(batch)
                try file.write(contentsOf: Data((tokens.joined(separator: "\n") + "\n").utf8))
                made = end
                FileHandle.standardError.write(Data("sessions: \(end) of \(sessions)\n".utf8))
            }
            print("seeded \(count) users and \(sessions) sessions")
        }
    }
}

/// `latchkey hash-benchmark`: bcrypt's cost on this machine, one hashing thread per core.
struct HashBenchmarkCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "hash-benchmark",
        abstract: "Time bcrypt at each cost on this machine and recommend a BCRYPT_COST.",
        discussion: """
            For each cost it times one hash alone, then as many hashes as there are cores at once, \
            with one hashing thread per core as the service runs them. It stops after the first cost \
            over four times the target.
            """
    )

    @Option(name: .customLong("target-ms"), help: "The time one hash should take, in milliseconds.")
    var targetMilliseconds = 250

    @Option(name: .customLong("max-cost"), help: "The highest cost to try.")
    var maxCost = 16

    @Option(name: .customLong("min-cost"), help: "The lowest cost to try.")
    var minCost = 4

    @Option(name: .customLong("rounds"), help: "Hashes per thread for the throughput figure.")
    var rounds = 2

    @Flag(help: "One JSON object on standard output.")
    var json = false

    func validate() throws {
        guard BcryptPasswordHasher.validCosts.contains(minCost), BcryptPasswordHasher.validCosts.contains(maxCost),
            minCost <= maxCost
        else { throw ValidationError("costs must be within 4...31, --min-cost not above --max-cost") }
        guard targetMilliseconds > 0, rounds > 0 else {
            throw ValidationError("--target-ms and --rounds must be positive")
        }
    }

    struct Figure: Codable {
        var cost: Int
        var millisecondsPerHash: Double
        var hashesPerSecond: Double

        enum CodingKeys: String, CodingKey {
            case cost
            case millisecondsPerHash = "ms_per_hash"
            case hashesPerSecond = "hashes_per_second"
        }
    }

    struct Report: Codable {
        var threads: Int
        var targetMilliseconds: Int
        var recommendedCost: Int
        var figures: [Figure]

        enum CodingKeys: String, CodingKey {
            case threads
            case targetMilliseconds = "target_ms"
            case recommendedCost = "recommended_cost"
            case figures
        }
    }

    func run() async throws {
        let threads = System.coreCount
        var figures: [Figure] = []
        for cost in minCost...maxCost {
            let hasher = BcryptPasswordHasher(cost: cost, threads: threads)
            let single = try await Self.time { _ = try await hasher.hash("hash-benchmark-password") }
            let jobs = threads * rounds
            let all = try await Self.time {
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for _ in 0..<jobs {
                        group.addTask { _ = try await hasher.hash("hash-benchmark-password") }
                    }
                    try await group.waitForAll()
                }
            }
            try await hasher.shutdown()
            let figure = Figure(
                cost: cost, millisecondsPerHash: (single * 1000 * 10).rounded() / 10,
                hashesPerSecond: (Double(jobs) / all * 10).rounded() / 10)
            figures.append(figure)
            if !json {
                print(
                    "cost \(cost)\t\(figure.millisecondsPerHash) ms per hash\t\(figure.hashesPerSecond) hashes/s on \(threads) threads"
                )
            }
            if figure.millisecondsPerHash > Double(targetMilliseconds) * 4 { break }
        }
        let recommended =
            figures.last { $0.millisecondsPerHash <= Double(targetMilliseconds) }?.cost ?? figures[0].cost
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys]
            let report = Report(
                threads: threads, targetMilliseconds: targetMilliseconds, recommendedCost: recommended, figures: figures
            )
            print(String(decoding: try encoder.encode(report), as: UTF8.self))
        } else {
            print(
                "recommended BCRYPT_COST=\(recommended): the highest cost at or under \(targetMilliseconds) ms per hash"
            )
        }
    }

    static func time(_ work: () async throws -> Void) async throws -> Double {
        let start = ContinuousClock.now
        try await work()
        let elapsed = ContinuousClock.now - start
        return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
    }
}
