import Foundation
import LatchkeyCore
import LatchkeyTestSupport
import Logging
import PostgresNIO
import Synchronization
import Testing

@testable import LatchkeyPostgres

/// The PostgreSQL server the tests use, from `LATCHKEY_TEST_POSTGRES_URL` (`.ci/run` starts one).
/// Each test gets a database of its own, dropped afterwards.
enum PostgresTestServer {
    static let url: String? = {
        guard let url = ProcessInfo.processInfo.environment["LATCHKEY_TEST_POSTGRES_URL"], !url.isEmpty else {
            return nil
        }
        return url
    }()

    static var isConfigured: Bool { url != nil }

    static let skipReason: Comment =
        "LATCHKEY_TEST_POSTGRES_URL is not set: PostgreSQL tests skipped (Tests/tools/postgres.sh starts a server)"

    /// Creates an empty database, runs `body` with its configuration, then drops it.
    static func withDatabase(
        _ body: (PostgresConfiguration) async throws -> Void
    ) async throws {
        let admin = try PostgresConfiguration(url: try #require(url))
        let name = "latchkey_test_\(UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: ""))"
        try await adminQuery(admin, "CREATE DATABASE \(name)")
        var configuration = admin
        configuration.database = name
        configuration.poolSize = 4
        // These tests check what the store does, not how fast: on a loaded machine a call may take
        // longer than the 1.5 s a request gets in service. The deadline's own tests set theirs.
        configuration.deadline = .seconds(30)
        do {
            try await body(configuration)
        } catch {
            try? await adminQuery(admin, "DROP DATABASE \(name) WITH (FORCE)")
            throw error
        }
        try await adminQuery(admin, "DROP DATABASE \(name) WITH (FORCE)")
    }

    /// A migrated, running store on a fresh database.
    static func withStore(_ body: @Sendable (PostgresStore) async throws -> Void) async throws {
        try await withDatabase { configuration in
            let store = PostgresStore(configuration: configuration, logger: CapturedLog().logger)
            try await store.withRunning {
                try await store.migrate()
                try await body(store)
            }
        }
    }

    private static func adminQuery(_ configuration: PostgresConfiguration, _ sql: String) async throws {
        let client = PostgresClient(configuration: configuration.migrationClientConfiguration)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await client.run() }
            defer { group.cancelAll() }
            try await client.query(PostgresQuery(unsafeSQL: sql))
        }
    }
}

@Suite("PostgreSQL store")
struct PostgresStoreTests {
    @Test("a PostgreSQL server is configured when CI=true")
    func configuredInCI() {
        if ProcessInfo.processInfo.environment["CI"] == "true" {
            #expect(PostgresTestServer.isConfigured, "CI must export LATCHKEY_TEST_POSTGRES_URL")
        }
    }

    // One case at a time: each makes and migrates a database of its own, and the cases that race
    // 20 to 50 tasks on one row hold each call to the store's 1.5 s deadline, which dozens of
    // cases migrating at once on two cores can exceed.
    @Test(
        "PostgreSQL keeps the storage contract",
        .enabled(if: PostgresTestServer.isConfigured, PostgresTestServer.skipReason),
        .serialized,
        arguments: StoreContract.allCases
    )
    func contract(check: StoreContract) async throws {
        try await PostgresTestServer.withStore { store in
            try await check.run(on: store)
        }
    }

    @Test(
        "two nodes migrating at once: both succeed, each migration runs once",
        .enabled(if: PostgresTestServer.isConfigured, PostgresTestServer.skipReason)
    )
    func concurrentMigrations() async throws {
        try await PostgresTestServer.withDatabase { configuration in
            let first = PostgresStore(configuration: configuration, logger: CapturedLog().logger)
            let second = PostgresStore(configuration: configuration, logger: CapturedLog().logger)
            try await first.withRunning {
                try await second.withRunning {
                    async let a = first.migrate()
                    async let b = second.migrate()
                    let (appliedA, appliedB) = try await (a, b)
                    let expected = PostgresStore.migrations.map(\.id)
                    #expect(appliedA == expected)
                    #expect(appliedB == expected)
                    #expect(try await first.appliedMigrations() == expected)
                    // The schema is there: the unique index turns a second address into a typed error.
                    _ = try await first.addUser(email: "ada@example.com", passwordHash: "h", createdAt: Date())
                    await #expect(throws: StoreError.duplicateEmail) {
                        _ = try await second.addUser(email: "ada@example.com", passwordHash: "h", createdAt: Date())
                    }
                }
            }
        }
    }

    @Test(
        "the server cancels a request-path statement that outlives the deadline",
        .enabled(if: PostgresTestServer.isConfigured, PostgresTestServer.skipReason)
    )
    func statementTimeout() async throws {
        try await PostgresTestServer.withDatabase { configuration in
            var configuration = configuration
            configuration.deadline = .milliseconds(1200)
            // The connect timeout follows the deadline, and on a busy machine opening a connection
            // (TCP, startup, authentication) can take longer than 1.2 s. Only the statement timeout is
            // under test: it is a startup parameter the server applies, so a longer connect timeout
            // leaves it at 1200 ms.
            var clientConfiguration = configuration.clientConfiguration
            clientConfiguration.options.connectTimeout = .seconds(30)
            let client = PostgresClient(configuration: clientConfiguration)
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { await client.run() }
                let shown = try await client.query("SHOW statement_timeout").collect().first?.decode(String.self)
                #expect(shown == "1200ms")
                do {
                    _ = try await client.query("SELECT pg_sleep(5)").collect()
                    Issue.record("a five-second statement was not cancelled")
                } catch let error as PSQLError {
                    #expect(error.serverInfo?[.sqlState] == "57014")
                }
                group.cancelAll()
            }
        }
    }

    @Test(
        "a session insert waits for an uncommitted password change, then refuses the old hash",
        .enabled(if: PostgresTestServer.isConfigured, PostgresTestServer.skipReason)
    )
    func sessionWaitsForPasswordChange() async throws {
        try await PostgresTestServer.withDatabase { configuration in
            let store = PostgresStore(configuration: configuration, logger: CapturedLog().logger)
            let other = PostgresClient(configuration: configuration.clientConfiguration)
            try await store.withRunning {
                try await store.migrate()
                let now = Date()
                let user = try await store.addUser(email: "ada@example.com", passwordHash: "old", createdAt: now)
                let session = Session(
                    tokenDigest: TokenDigest(of: "session"), userID: user.id, createdAt: now, lastSeenAt: now,
                    expiresAt: now + 3600)
                try await withThrowingTaskGroup(of: Void.self) { group in
                    group.addTask { await other.run() }
                    // A reset in flight on another connection: the hash is changed but not committed.
                    try await other.withConnection { connection in
                        try await connection.query("BEGIN", logger: CapturedLog().logger)
                        try await connection.query(
                            "UPDATE users SET password_hash = 'new' WHERE id = \(user.id)",
                            logger: CapturedLog().logger)
                        let login = Task { try await store.addSession(session, ifPasswordHash: "old") }
                        try await Task.sleep(for: .milliseconds(300))
                        try await connection.query("COMMIT", logger: CapturedLog().logger)
                        // Reading the row FOR SHARE made the insert wait and then see the new hash.
                        #expect(try await login.value == false)
                    }
                    group.cancelAll()
                }
                #expect(try await store.findSession(digest: session.tokenDigest) == nil)
            }
        }
    }

    @Test(
        "the migration copies each user's email into the sessions made before it, and a changed email reaches its sessions",
        .enabled(if: PostgresTestServer.isConfigured, PostgresTestServer.skipReason)
    )
    func sessionsCarryEmail() async throws {
        try await PostgresTestServer.withDatabase { configuration in
            let logger = CapturedLog().logger
            let digest = TokenDigest(of: "session made before the migration")
            let client = PostgresClient(configuration: configuration.migrationClientConfiguration)
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { await client.run() }
                defer { group.cancelAll() }
                // A database as the previous version left it: a user with a session, no email column.
                try await client.query(
                    "CREATE TABLE latchkey_migrations (id TEXT PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())"
                )
                for migration in PostgresStore.migrations.prefix(2) {
                    for statement in migration.statements {
                        try await client.query(PostgresQuery(unsafeSQL: statement), logger: logger)
                    }
                    try await client.query(
                        "INSERT INTO latchkey_migrations (id) VALUES (\(migration.id))", logger: logger)
                }
                try await client.query(
                    "INSERT INTO users (email, password_hash, created_at) VALUES ('ada@example.com', 'h', 0)",
                    logger: logger)
                try await client.query(
                    """
                    INSERT INTO sessions (token_hash, user_id, created_at, last_seen_at, expires_at)
                    VALUES (\(digest.bytes), 1, 0, 0, 9e9)
                    """, logger: logger)

                let store = PostgresStore(configuration: configuration, logger: CapturedLog().logger)
                try await store.withRunning {
                    try await store.migrate()
                    let found = try await store.findSession(digest: digest)
                    #expect(found?.user == SessionUser(id: 1, email: "ada@example.com"))
                    try await client.query(
                        "UPDATE users SET email = 'ada@lovelace.example' WHERE id = 1", logger: logger)
                    let changed = try await store.findSession(digest: digest)
                    #expect(changed?.user.email == "ada@lovelace.example")
                }
            }
        }
    }
}

@Suite("PostgreSQL: the login's activity entry in the session's statement")
struct PostgresLoginActivityTests {
    @Test(
        "an entry the server refuses fails its statement, and the session is stored again without it",
        .enabled(if: PostgresTestServer.isConfigured, PostgresTestServer.skipReason)
    )
    func refusedEntryKeepsTheSession() async throws {
        try await PostgresTestServer.withDatabase { configuration in
            let store = PostgresStore(configuration: configuration, logger: CapturedLog().logger)
            try await store.withRunning {
                try await store.migrate()
                let user = try await store.addUser(email: "ada@example.com", passwordHash: "h", createdAt: Date())
                let client = PostgresClient(configuration: configuration.migrationClientConfiguration)
                try await withThrowingTaskGroup(of: Void.self) { group in
                    group.addTask { await client.run() }
                    defer { group.cancelAll() }
                    try await client.query(
                        """
                        CREATE FUNCTION refuse_activity() RETURNS trigger LANGUAGE plpgsql AS
                        $$ BEGIN RAISE EXCEPTION 'refused'; END $$
                        """)
                    try await client.query(
                        """
                        CREATE TRIGGER refuse_activity BEFORE INSERT ON activity
                        FOR EACH ROW EXECUTE FUNCTION refuse_activity()
                        """)
                }
                try await StoreContract.expectSessionWithoutItsRefusedEntry(store, userID: user.id, passwordHash: "h")
            }
        }
    }
}

@Suite("PostgreSQL without a server")
struct PostgresOfflineTests {
    @Test("URLs: user, password, host, port, database and sslmode are read; the password never printed")
    func urls() throws {
        let parsed = try PostgresConfiguration(url: "postgresql://app:s%40cret@db.internal:6543/auth?sslmode=require")
        #expect(parsed.username == "app")
        #expect(parsed.password == "s@cret")
        #expect(parsed.host == "db.internal")
        #expect(parsed.port == 6543)
        #expect(parsed.database == "auth")
        #expect(parsed.tlsMode == .require)
        #expect(!parsed.redactedDescription.contains("cret"))

        let defaults = try PostgresConfiguration(url: "postgres://app@[::1]")
        #expect(defaults.host == "::1")
        #expect(defaults.port == 5432)
        #expect(defaults.database == nil)
        #expect(defaults.tlsMode == .prefer)
        #expect(defaults.poolSize == 10)
    }

    @Test(
        "bad URLs are refused with a reason",
        arguments: [
            "mysql://app@host/db", "postgres:///db", "postgres://host/db", "postgres://app@host/db?sslmode=maybe",
            "postgres://app@host/db?pool=3",
        ]
    )
    func badURLs(url: String) {
        #expect(throws: PostgresConfigurationError.self) { _ = try PostgresConfiguration(url: url) }
    }

    @Test("no server: a call fails as unavailable within the deadline instead of hanging")
    func noServer() async throws {
        // Port 9 (discard) on loopback: nothing listens, so every connection attempt is refused.
        var configuration = try PostgresConfiguration(url: "postgres://app:pw@127.0.0.1:9/db?sslmode=disable")
        configuration.deadline = .milliseconds(300)
        let store = PostgresStore(configuration: configuration, logger: CapturedLog().logger)
        try await store.withRunning {
            do {
                _ = try await store.findUser(by: .email("ada@example.com"))
                Issue.record("a store with no server answered")
            } catch let error as StoreError {
                guard case .unavailable = error else {
                    Issue.record("expected unavailable, got \(error)")
                    return
                }
            }
            await #expect(throws: StoreError.self) { try await store.checkAvailable() }
        }
    }
}

/// A gate that work waits on without noticing cancellation, like a query sent to a server that
/// stopped answering.
private final class Gate: Sendable {
    private let waiters = Mutex<[CheckedContinuation<Void, Never>]>([])
    private let opened = Mutex(false)

    func wait() async {
        await withCheckedContinuation { continuation in
            let resumeNow = opened.withLock { isOpen in
                if isOpen { return true }
                waiters.withLock { $0.append(continuation) }
                return false
            }
            if resumeNow { continuation.resume() }
        }
    }

    func open() {
        let pending = opened.withLock { isOpen in
            isOpen = true
            return waiters.withLock { waiters in
                defer { waiters = [] }
                return waiters
            }
        }
        for waiter in pending { waiter.resume() }
    }
}

@Suite("Deadline", .timeLimit(.minutes(1)))
struct DeadlineTests {
    @Test("work that finishes in time gives its value; its error passes through")
    func finishes() async throws {
        #expect(try await Deadline.run(.seconds(30)) { 42 } == 42)
        await #expect(throws: StoreError.notFound) {
            try await Deadline.run(.seconds(30)) { () async throws -> Int in throw StoreError.notFound }
        }
    }

    @Test("work that ignores cancellation cannot hold the caller past the deadline")
    func abandonsStuckWork() async throws {
        let gate = Gate()
        await #expect(throws: DeadlineExceeded.self) {
            try await Deadline.run(.milliseconds(50)) { await gate.wait() }
        }
        gate.open()
    }

    @Test("a cancelled caller is released at once, with CancellationError")
    func callerCancellation() async throws {
        let gate = Gate()
        let caller = Task { try await Deadline.run(.seconds(3600)) { await gate.wait() } }
        caller.cancel()
        await #expect(throws: CancellationError.self) { try await caller.value }
        gate.open()
    }
}
