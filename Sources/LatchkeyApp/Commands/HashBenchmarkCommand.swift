import ArgumentParser
import Foundation
import LatchkeyCore
import NIOCore
import NIOPosix

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
