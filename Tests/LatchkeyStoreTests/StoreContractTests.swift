import Foundation
import LatchkeyCore
import LatchkeySQLite
import LatchkeyTestSupport
import Testing

/// The embedded stores the contract runs against; PostgreSQL has its own suite, which needs a server.
enum StoreKind: String, CaseIterable, CustomTestStringConvertible {
    case inMemory
    case sqliteMemory
    case sqliteFile

    var testDescription: String { rawValue }

    func make() throws -> (any AdminStore, cleanup: () -> Void) {
        switch self {
        case .inMemory:
            return (InMemoryStore(), {})
        case .sqliteMemory:
            return (try SQLiteStore(location: .memory), {})
        case .sqliteFile:
            let directory = FileManager.default.temporaryDirectory
                .appendingPathComponent("latchkey-store-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            let store = try SQLiteStore(location: .file(path: directory.appendingPathComponent("db.sqlite").path))
            return (store, { try? FileManager.default.removeItem(at: directory) })
        }
    }
}

@Suite("Storage contract")
struct StoreContractTests {
    @Test("every store keeps the contract", arguments: StoreKind.allCases, StoreContract.allCases)
    func contract(kind: StoreKind, check: StoreContract) async throws {
        let (store, cleanup) = try kind.make()
        defer { cleanup() }
        try await check.run(on: store)
    }
}

/// A database path in a new temporary folder; the caller removes the folder.
func temporaryPath() throws -> (String, URL) {
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent(
        "latchkey-sqlite-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    return (directory.appendingPathComponent("db.sqlite").path, directory)
}

@Suite("SQLite store")
struct SQLiteStoreTests {

    @Test("data survives reopening, and migrating again changes nothing")
    func reopen() async throws {
        let (path, directory) = try temporaryPath()
        defer { try? FileManager.default.removeItem(at: directory) }
        let first = try SQLiteStore(location: .file(path: path))
        let user = try await first.addUser(
            email: "ada@example.com", passwordHash: "h", createdAt: Date(timeIntervalSince1970: 1_800_000_000))
        let migrations = try first.appliedMigrations()
        #expect(!migrations.isEmpty)
        let second = try SQLiteStore(location: .file(path: path))
        #expect(try await second.findUser(by: .email("ada@example.com")) == user)
        #expect(try second.appliedMigrations() == migrations)
    }

    @Test("a file in a folder that does not exist is a clear error, not a crash")
    func missingFolder() throws {
        #expect(throws: StoreError.self) {
            _ = try SQLiteStore(location: .file(path: "/nonexistent-\(UUID().uuidString)/db.sqlite"))
        }
    }

    @Test("a database that fails is reported as unavailable, never as a driver error")
    func unavailable() async throws {
        let (path, directory) = try temporaryPath()
        defer { try? FileManager.default.removeItem(at: directory) }
        let store = try SQLiteStore(location: .file(path: path))
        try store.close()
        do {
            _ = try await store.findUser(by: .email("ada@example.com"))
            Issue.record("a closed database answered")
        } catch let error as StoreError {
            guard case .unavailable = error else {
                Issue.record("expected unavailable, got \(error)")
                return
            }
        }
        do {
            _ = try await store.addUser(email: "ada@example.com", passwordHash: "h", createdAt: Date())
            Issue.record("a closed database accepted a write")
        } catch let error as StoreError {
            guard case .unavailable = error else {
                Issue.record("expected unavailable, got \(error)")
                return
            }
        }
    }

    @Test("the file is in WAL mode with synchronous=FULL")
    func pragmas() throws {
        let (path, directory) = try temporaryPath()
        defer { try? FileManager.default.removeItem(at: directory) }
        let store = try SQLiteStore(location: .file(path: path))
        let pragmas = try store.pragmas()
        #expect(pragmas.journalMode == "wal")
        #expect(pragmas.synchronous == 2)
    }
}
