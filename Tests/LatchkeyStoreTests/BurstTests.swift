import Foundation
import LatchkeyCore
import LatchkeyPostgres
import LatchkeySQLite
import LatchkeyTestSupport
import Testing

@Suite("Bursts on the real stores")
struct StoreBurstTests {
    @Test("SQLite: a burst never gets more checks than the limit")
    func sqlite() async throws {
        let (path, directory) = try temporaryPath()
        defer { try? FileManager.default.removeItem(at: directory) }
        let store = try SQLiteStore(location: .file(path: path))
        try await BurstScenario.run(on: store)
        try store.close()
    }

    @Test(
        "PostgreSQL: a burst never gets more checks than the limit, on one node and across two",
        .enabled(if: PostgresTestServer.isConfigured, PostgresTestServer.skipReason),
        arguments: [1, 2])
    func postgres(nodes: Int) async throws {
        try await PostgresTestServer.withDatabase { configuration in
            // Each node has its own store and pool on the same database.
            let first = PostgresStore(configuration: configuration, logger: CapturedLog().logger)
            let second = PostgresStore(configuration: configuration, logger: CapturedLog().logger)
            try await first.withRunning {
                try await first.migrate()
                try await second.withRunning {
                    let hasher = GatedHasher(inner: FastHasher(), gate: 10)
                    let stores = nodes == 1 ? [first] : [first, second]
                    var auths: [Auth] = []
                    for store in stores {
                        auths.append(try await Auth(store: store, hasher: hasher, logger: CapturedLog().logger))
                    }
                    try await BurstScenario.run(nodes: auths, hasher: hasher)
                }
            }
        }
    }
}
