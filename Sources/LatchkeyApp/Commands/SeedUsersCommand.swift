import ArgumentParser
import Foundation
import LatchkeyCore

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
        // One hash of the password in the scheme registration uses, so that logins verify it
        // as they would a registered user's, and none has to replace it.
        let hasher = BcryptPasswordHasher(cost: cost, threads: 1)
        let hash = try await hasher.hash(password)
        try await hasher.shutdown()
        try await Admin.withAuth(database) { auth, opened in
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
